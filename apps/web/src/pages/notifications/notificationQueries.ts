/** Query keys of the notification pages; every key starts with `notifications`. */
export const notificationKeys = {
  all: ['notifications'] as const,
  list: ['notifications', 'list'] as const,
  detail: (id: number) => ['notifications', 'detail', id] as const,
};

/** A test send waits for SMTP / HTTP (10 s each on the server). */
export const NOTIFICATION_TEST_TIMEOUT_MS = 30_000;
