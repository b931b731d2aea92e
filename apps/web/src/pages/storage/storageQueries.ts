/** Query keys of the storage pages; every key starts with `storage-targets` so events refresh them. */
export const storageKeys = {
  all: ['storage-targets'] as const,
  list: ['storage-targets', 'list'] as const,
  detail: (id: number) => ['storage-targets', 'detail', id] as const,
  usage: (id: number) => ['storage-targets', 'usage', id] as const,
  driveProfile: (id: number) => ['storage-targets', 'google-drive-profile', id] as const,
  /** Outside the `storage-targets` prefix: the installed rclone does not change with events. */
  rcloneBackends: ['rclone-backends'] as const,
};

/** Connection tests contact the backend (up to 30 s on the server); usage may ask it too (15 s). */
export const STORAGE_TEST_TIMEOUT_MS = 45_000;
export const STORAGE_USAGE_TIMEOUT_MS = 25_000;
export const RCLONE_CATALOGUE_TIMEOUT_MS = 30_000;

/** Route of the page Google sends the browser back to (the server builds the same URL). */
export const GOOGLE_DRIVE_CALLBACK_PATH = '/storage-targets/google-drive/callback';

/** Share of used capacity from which a target shows the red capacity warning (SPEC §13.1). */
export const CAPACITY_WARNING_PERCENT = 85;
