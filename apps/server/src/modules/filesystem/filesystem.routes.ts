import { apiRoutes } from '@backupx/contract';
import type { RouteRegistry } from '../../http/route-registry.ts';
import type { FilesystemService } from './filesystem.service.ts';

export const registerFilesystemRoutes = (
  registry: RouteRegistry,
  services: { filesystem: FilesystemService },
) => {
  const { filesystem } = services;
  registry.add(apiRoutes.tasks.listDirectory, ({ query }) => filesystem.list(query.path));
};
