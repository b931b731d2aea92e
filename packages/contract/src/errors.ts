/**
 * Stable error codes. Clients branch on HTTP status + `code`, never on `message`.
 * A code is never renamed or reused; docs/errors.md is generated from this table.
 */
export const errorCatalog = {
  INVALID_INPUT: { status: 400, description: 'The request body, query or path failed validation.' },
  INVALID_JSON: { status: 400, description: 'The request body is not well-formed JSON.' },
  INVALID_ID: { status: 400, description: 'A path id is not an integer between 1 and 4294967295.' },
  NOT_FOUND: { status: 404, description: 'No route or resource matches the request.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The request body exceeds the size limit of the route.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The request body has a content type the route does not accept.',
  },
  INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected server error; details are logged, never returned.',
  },
  SERVICE_UNAVAILABLE: { status: 503, description: 'A dependency (database) is not reachable.' },

  AUTH_REQUIRED: { status: 401, description: 'No credentials were sent.' },
  AUTH_INVALID_TOKEN: { status: 401, description: 'The JWT or API key is invalid, expired or revoked.' },
  AUTH_FORBIDDEN: { status: 403, description: 'The authenticated role may not use this route.' },
  AUTH_INVALID_CREDENTIALS: { status: 401, description: 'Unknown user or wrong password.' },
  AUTH_USER_DISABLED: { status: 401, description: 'The account is disabled.' },
  AUTH_2FA_REQUIRED: { status: 401, description: 'The account has a second factor; send `twoFactorCode`.' },
  AUTH_2FA_INVALID: { status: 401, description: 'The second-factor code is wrong or already used.' },
  AUTH_2FA_ALREADY_ENABLED: { status: 409, description: 'TOTP is already enabled for this account.' },
  AUTH_2FA_NOT_ENABLED: { status: 400, description: 'TOTP is not enabled for this account.' },
  AUTH_2FA_SETUP_REQUIRED: { status: 400, description: 'Call /api/auth/2fa/setup before enabling TOTP.' },
  AUTH_RATE_LIMITED: {
    status: 429,
    description: 'Too many login attempts from this client IP; wait a minute.',
  },
  AUTH_SETUP_DISABLED: { status: 409, description: 'The first administrator already exists.' },
  AUTH_WRONG_PASSWORD: { status: 400, description: 'The current password is wrong.' },
  AUTH_KEY_DISABLED: { status: 401, description: 'The API key is disabled.' },
  AUTH_KEY_EXPIRED: { status: 401, description: 'The API key has expired.' },
  AUTH_USER_SESSION_REQUIRED: {
    status: 403,
    description: 'The route acts on a signed-in user; API keys cannot call it.',
  },

  USER_NOT_FOUND: { status: 404, description: 'No user with this id.' },
  USER_USERNAME_EXISTS: { status: 409, description: 'Another user has this username.' },
  USER_LAST_ADMIN: {
    status: 400,
    description: 'The last enabled administrator cannot be deleted, demoted or disabled.',
  },
  USER_DELETE_SELF: { status: 400, description: 'You cannot delete your own account.' },

  API_KEY_NOT_FOUND: { status: 404, description: 'No API key with this id.' },

  AUDIT_FILTER_INVALID: { status: 400, description: 'An audit filter (date range, paging) is invalid.' },

  SETTINGS_INVALID: { status: 400, description: 'A setting key is unknown or its value is invalid.' },

  STORAGE_TARGET_NOT_FOUND: { status: 404, description: 'No storage target with this id.' },
  STORAGE_TARGET_NAME_EXISTS: { status: 409, description: 'Another storage target has this name.' },
  STORAGE_PROVIDER_UNSUPPORTED: { status: 400, description: 'The storage type is not supported.' },
  STORAGE_TARGET_TYPE_IMMUTABLE: {
    status: 400,
    description: 'The type of a storage target cannot change after creation.',
  },
  STORAGE_TARGET_INVALID_CONFIG: {
    status: 400,
    description: 'The storage configuration is incomplete or invalid for its type.',
  },
  STORAGE_TARGET_IN_USE: { status: 409, description: 'A task still writes to this storage target.' },
  STORAGE_TARGET_TEST_FAILED: {
    status: 400,
    description: 'The connection test failed; the message says what the backend answered.',
  },
  STORAGE_TARGET_DISABLED: { status: 400, description: 'The storage target is disabled.' },
  STORAGE_GOOGLE_OAUTH_STATE_INVALID: {
    status: 400,
    description: 'The Google Drive authorisation session is unknown, expired or already used.',
  },
  STORAGE_GOOGLE_OAUTH_REFRESH_TOKEN_MISSING: {
    status: 400,
    description: 'Google returned no refresh token; revoke the app’s access and authorise again.',
  },
  STORAGE_GOOGLE_API_FAILED: {
    status: 502,
    description: 'Google refused the request (code exchange, token refresh, profile) or was unreachable.',
  },

  BACKUP_TASK_NOT_FOUND: { status: 404, description: 'No backup task with this id.' },
  BACKUP_TASK_NAME_EXISTS: { status: 409, description: 'Another backup task has this name.' },
  BACKUP_TASK_INVALID: {
    status: 400,
    description: 'The task is invalid (cron, maintenance windows, sources, database fields…).',
  },
  BACKUP_STORAGE_TARGET_INVALID: {
    status: 400,
    description: 'A task needs at least one existing storage target; an id does not exist.',
  },
  BACKUP_TASK_DIFF_UNSUPPORTED: {
    status: 400,
    description: 'Differential mode is available for file tasks only.',
  },
  BACKUP_TASK_REPOSITORY_UNSUPPORTED: {
    status: 400,
    description: 'Repository mode is available for file tasks only.',
  },
  BACKUP_TASK_REPOSITORY_REPLICATION_UNSUPPORTED: {
    status: 400,
    description:
      'A repository-mode task cannot have replication targets: select several storage targets instead (each gets its own repository).',
  },
  BACKUP_TASK_REPOSITORY_REMOTE_ENCRYPT_UNSUPPORTED: {
    status: 400,
    description:
      'An encrypted repository-mode task runs on the master only: the repository key never leaves the master. Turn encryption off or run the task on the master.',
  },
  BACKUP_REPOSITORY_PRUNE_FAILED: {
    status: 500,
    description:
      'The snapshot was deleted but the repository could not be pruned; the record is kept so the deletion is retried.',
  },
  REPOSITORY_BUSY: {
    status: 409,
    description:
      'Another writer holds the lease of this repository; retry once it is done (leases expire if not renewed).',
  },
  REPOSITORY_LEASE_LOST: {
    status: 409,
    description: 'The repository lease expired and another writer took it; the run must stop.',
  },
  BACKUP_TASK_DIFF_REMOTE_UNSUPPORTED: {
    status: 400,
    description: 'Differential backups run on the master only (no node pool, no remote node).',
  },
  BACKUP_TASK_REMOTE_ENCRYPT_UNSUPPORTED: {
    status: 400,
    description: 'Encrypted backups run on the master only (no node pool, no remote node).',
  },
  BACKUP_TASK_ALREADY_RUNNING: { status: 400, description: 'A run of this task is still in progress.' },
  BACKUP_TASK_OUTSIDE_WINDOW: {
    status: 400,
    description: 'Now is outside every maintenance window of the task.',
  },
  BACKUP_TASK_SCHEDULE_FAILED: { status: 500, description: 'The schedule of the task could not be set.' },
  BACKUP_TASK_DEPENDENCY_INVALID: {
    status: 400,
    description: 'An upstream task does not exist, is the task itself, or would close a cycle.',
  },
  BACKUP_STORAGE_QUOTA_EXCEEDED: {
    status: 400,
    description: 'The upload would exceed the hard quota of the storage target.',
  },

  BACKUP_RECORD_NOT_FOUND: { status: 404, description: 'No backup record with this id.' },
  BACKUP_RECORD_FILTER_INVALID: {
    status: 400,
    description: 'A record filter (status, dates, paging) is invalid.',
  },
  BACKUP_RECORD_LOCKED: { status: 400, description: 'The record is under legal hold (locked).' },
  BACKUP_RECORD_HAS_DEPENDENTS: {
    status: 400,
    description: 'Differential backups depend on this full backup; delete them first.',
  },
  BACKUP_RECORD_NOT_SUCCESSFUL: {
    status: 400,
    description: 'The record did not succeed, so there is no artifact to read.',
  },
  BACKUP_RECORD_RUNNING: { status: 400, description: 'The record is still running.' },
  BACKUP_CONTENTS_UNAVAILABLE: {
    status: 422,
    description: 'The record has no manifest (database backups, legacy or agent runs).',
  },
  BACKUP_CHECKSUM_MISMATCH: {
    status: 422,
    description: 'The stored artifact does not match its recorded SHA-256.',
  },
  BACKUP_ARTIFACT_UNAVAILABLE: {
    status: 502,
    description: 'No storage target holding the artifact could be read.',
  },

  RESTORE_RECORD_NOT_FOUND: { status: 404, description: 'No restore record with this id.' },
  RESTORE_SOURCE_INVALID: { status: 400, description: 'Only successful backup records can be restored.' },
  RESTORE_SELECTIVE_UNSUPPORTED: {
    status: 400,
    description: 'Selective restore is available for file backups only.',
  },
  RESTORE_TARGET_UNSUPPORTED: {
    status: 400,
    description: 'Restoring to another directory is available for file backups only.',
  },
  RESTORE_TARGET_INVALID: { status: 400, description: 'The restore directory must be an absolute path.' },
  RESTORE_FILTER_INVALID: { status: 400, description: 'A restore record filter is invalid.' },

  NOTIFICATION_NOT_FOUND: { status: 404, description: 'No notification channel with this id.' },
  NOTIFICATION_NAME_EXISTS: { status: 409, description: 'Another notification channel has this name.' },
  NOTIFICATION_INVALID: { status: 400, description: 'The notification channel configuration is invalid.' },
  NOTIFICATION_TEST_FAILED: {
    status: 400,
    description: 'The test message could not be delivered; the message says why.',
  },

  TASK_IMPORT_INVALID: {
    status: 400,
    description: 'The import file is not a task export (version v1 with 1 to 1000 tasks).',
  },
  REPLICATION_SOURCE_INVALID: { status: 400, description: 'Only a successful backup can be replicated.' },
  REPLICATION_DEST_INVALID: {
    status: 400,
    description: 'The destination must be an existing storage target other than where the backup is.',
  },
  REPLICATION_DEST_DISABLED: { status: 400, description: 'The destination storage target is disabled.' },
  REPLICATION_CROSS_NODE_LOCAL_DISK: {
    status: 400,
    description: "The backup is on a remote node's own disk; the master cannot copy it.",
  },
  REPLICATION_RECORD_NOT_FOUND: { status: 404, description: 'No replication record has this id.' },
  VERIFY_MODE_INVALID: { status: 400, description: 'The drill mode must be quick or deep.' },
  VERIFY_NO_SOURCE: { status: 400, description: 'The task has no successful backup to drill.' },
  VERIFY_SOURCE_INVALID: { status: 400, description: 'Only a successful backup can be drilled.' },
  VERIFY_COPY_NOT_FOUND: {
    status: 400,
    description: 'The backup has no successful copy on this storage target.',
  },
  VERIFY_CROSS_NODE_LOCAL_DISK: {
    status: 400,
    description: "The backup is on a remote node's own disk; the master cannot read it.",
  },
  VERIFY_RECORD_NOT_FOUND: { status: 404, description: 'No verification record has this id.' },
  REPORT_RANGE_INVALID: { status: 400, description: 'The report window must be 1 to 365 days.' },
  DASHBOARD_TIMELINE_INVALID: { status: 400, description: 'The `days` parameter must be an integer.' },
  DATABASE_DISCOVERY_FAILED: {
    status: 400,
    description: 'The database server could not be reached or listed with these credentials.',
  },
  FS_PATH_INVALID: { status: 400, description: 'The directory does not exist or cannot be read.' },

  NODE_NOT_FOUND: { status: 404, description: 'No node with this id.' },
  NODE_DUPLICATE_NAME: {
    status: 400,
    description: 'Another node (or another entry of the batch) has this name.',
  },
  NODE_NAME_TOO_LONG: { status: 400, description: 'A node name is longer than 128 characters.' },
  NODE_BATCH_EMPTY: { status: 400, description: 'The batch has no non-blank name.' },
  NODE_BATCH_TOO_MANY: { status: 400, description: 'A batch creates at most 50 nodes.' },
  NODE_DELETE_LOCAL: { status: 400, description: "The master's own node cannot be deleted." },
  NODE_HAS_TASKS: { status: 400, description: 'Tasks are bound to this node; move or delete them first.' },
  NODE_ROTATE_LOCAL: { status: 400, description: "The master's own node has no agent token to rotate." },
  NODE_OFFLINE: {
    status: 400,
    description: 'The node is offline: its agent has not sent a heartbeat recently.',
  },
  NODE_POOL_EMPTY: { status: 400, description: 'No online node carries the label of the node pool.' },
  NODE_FS_READ_ERROR: {
    status: 400,
    description: 'The node could not read the directory; the message says why.',
  },
  NODE_INVALID_TOKEN: {
    status: 401,
    description: 'The agent token is unknown, or a rotated-out token past its 24 h overlap.',
  },
  AGENT_COMMAND_NOT_FOUND: { status: 404, description: 'No agent command with this id.' },
  AGENT_COMMAND_FORBIDDEN: { status: 401, description: 'The command belongs to another node.' },
  AGENT_COMMAND_TIMEOUT: {
    status: 504,
    description: 'The agent did not answer in time (15 s for browsing and discovery).',
  },
  AGENT_COMMAND_ENQUEUE_FAILED: { status: 500, description: 'The command could not be queued for the node.' },
  BACKUP_TASK_FORBIDDEN: {
    status: 401,
    description: 'The task is not bound to this node and has no run on it.',
  },
  BACKUP_RECORD_FORBIDDEN: { status: 401, description: 'The backup record belongs to another node.' },
  BACKUP_STORAGE_TARGET_FORBIDDEN: { status: 401, description: 'The storage target is not one of the task.' },
  BACKUP_RECORD_STATUS_INVALID: {
    status: 400,
    description: 'A record status must be running, success or failed.',
  },
  BACKUP_RECORD_CROSS_NODE_LOCAL_DISK: {
    status: 400,
    description: "The backup is on a remote node's own disk; the master cannot read it.",
  },
  AGENT_STORAGE_TRANSFER_MODE_INVALID: {
    status: 400,
    description: 'The reported transfer mode is not the one of the target (direct or master_relay).',
  },
  AGENT_ARTIFACT_INVALID: {
    status: 400,
    description: 'The reported artifact (status, size, checksum, name) is invalid.',
  },
  AGENT_ARTIFACT_INVALID_PATH: {
    status: 400,
    description: "The object key is not a clean relative path inside the record's namespace.",
  },
  CONTENT_LENGTH_REQUIRED: { status: 411, description: 'Relayed uploads must send Content-Length.' },
  RESTORE_RECORD_FORBIDDEN: { status: 401, description: 'The restore record belongs to another node.' },
  INSTALL_TOKEN_RATE_LIMITED: { status: 429, description: 'At most 5 install tokens per node per minute.' },
  INSTALL_TOKEN_INVALID: { status: 410, description: 'The install token was already used or has expired.' },
  INSTALL_OPTIONS_INVALID: {
    status: 400,
    description: 'An install option (master URL, proxy, CA path, mode) is invalid; the message says which.',
  },

  TASK_TEMPLATE_NOT_FOUND: { status: 404, description: 'No task template with this id.' },
  TASK_TEMPLATE_NAME_EXISTS: { status: 409, description: 'Another task template has this name.' },
  TASK_TEMPLATE_INVALID: {
    status: 400,
    description:
      'The template (name, description, task body) or the apply rows are invalid; the message says which.',
  },

  SEARCH_QUERY_INVALID: {
    status: 400,
    description: 'The search query is not a single string of at most 200 characters.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

/** Every stable error code. */
export type ErrorCode = keyof typeof errorCatalog;

/** Body of every error response. `details` carries field-level validation problems when useful. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}
