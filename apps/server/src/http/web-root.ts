import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the built console may live, in discovery order (SPEC §0.3, plus this repository's build output). */
export const webRootCandidates = (configured: string, cwd: string): string[] => [
  ...(configured === '' ? [] : [path.resolve(cwd, configured)]),
  path.resolve(cwd, 'web/dist'),
  path.resolve(cwd, 'web'),
  path.resolve(cwd, '../web/dist'),
  fileURLToPath(new URL('../../../web/dist', import.meta.url)),
  '/opt/backupx/web',
  '/app/web',
];

/** The first candidate directory that contains index.html, or null. */
export const findWebRoot = (configured: string, cwd: string): string | null => {
  for (const candidate of webRootCandidates(configured, cwd)) {
    const index = path.join(candidate, 'index.html');
    if (existsSync(index) && statSync(index).isFile()) return candidate;
  }
  return null;
};

const mimeTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export const contentTypeFor = (file: string): string =>
  mimeTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream';

/** Paths that belong to the backend: never answered with the SPA. */
export const isReservedPath = (urlPath: string): boolean =>
  ['/health', '/ready', '/metrics', '/api', '/install'].includes(urlPath) ||
  urlPath.startsWith('/api/') ||
  urlPath.startsWith('/install/');

/** Resolves a URL path to a file inside `root`, or null when it escapes the root or is not a file. */
export const resolveStaticFile = (root: string, urlPath: string): string | null => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const resolved = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
  return existsSync(resolved) && statSync(resolved).isFile() ? resolved : null;
};
