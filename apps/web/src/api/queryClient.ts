import { QueryClient } from '@tanstack/react-query';
import { isApiError } from './client.ts';

/** Query keys of the console; mutations invalidate these. */
export const queryKeys = {
  setupStatus: ['setup-status'] as const,
  systemInfo: ['system-info'] as const,
  settings: ['settings'] as const,
  users: ['users'] as const,
  apiKeys: ['api-keys'] as const,
  audit: ['audit-logs'] as const,
};

/** Client errors (4xx) are answers, not glitches: only network errors and 5xx are retried. */
const shouldRetry = (failureCount: number, error: unknown) => {
  if (isApiError(error) && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
};

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: shouldRetry, refetchOnWindowFocus: false, staleTime: 15_000 },
      mutations: { retry: false },
    },
  });
}
