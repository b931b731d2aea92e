import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Table types as code sees them (camelCase; the CamelCasePlugin maps to snake_case columns).
 * Conventions shared by both dialects: timestamps are ISO-8601 UTC text with milliseconds,
 * booleans are integers 0/1, JSON is text. Keep in step with migrations (schema.integration.test.ts checks).
 */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  passwordHash: string;
  displayName: string;
  email: string;
  phone: string;
  role: string;
  disabled: number;
  twoFactorEnabled: number;
  twoFactorSecretCiphertext: string;
  twoFactorRecoveryCodeHashes: string;
  twoFactorLastStep: number;
  webAuthnCredentials: string;
  webAuthnChallengeCiphertext: string;
  trustedDevices: string;
  emailOtpEnabled: number;
  smsOtpEnabled: number;
  outOfBandOtpCiphertext: string;
  createdAt: string;
  updatedAt: string;
}

export interface UserSessionsTable {
  /** The JWT `jti`. */
  id: string;
  userId: number;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  clientIp: string;
  userAgent: string;
}

export interface SystemConfigsTable {
  id: Generated<number>;
  key: string;
  value: string;
  encrypted: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  role: string;
  keyHash: string;
  prefix: string;
  createdBy: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  disabled: number;
  createdAt: string;
  updatedAt: string;
}

export interface AuditLogsTable {
  id: Generated<number>;
  userId: number;
  username: string;
  category: string;
  action: string;
  targetType: string;
  targetId: string;
  targetName: string;
  detail: string;
  clientIp: string;
  createdAt: string;
}

export interface RateLimitBucketsTable {
  key: string;
  windowStartedAt: string;
  count: number;
}

export interface StorageTargetsTable {
  id: Generated<number>;
  name: string;
  type: string;
  description: Generated<string>;
  enabled: Generated<number>;
  starred: Generated<number>;
  configCiphertext: string;
  configVersion: Generated<number>;
  lastTestedAt: Generated<string | null>;
  lastTestStatus: Generated<string>;
  lastTestMessage: Generated<string>;
  quotaBytes: Generated<number>;
  createdAt: string;
  updatedAt: string;
}

export interface BackupTasksTable {
  id: Generated<number>;
  name: string;
  type: string;
  enabled: Generated<number>;
  cronExpr: Generated<string>;
  sourcePath: Generated<string>;
  sourcePaths: Generated<string>;
  excludePatterns: Generated<string>;
  dbHost: Generated<string>;
  dbPort: Generated<number>;
  dbUser: Generated<string>;
  dbName: Generated<string>;
  dbPath: Generated<string>;
  dbPasswordCiphertext: Generated<string>;
  extraConfig: Generated<string>;
  storageTargetId: Generated<number>;
  nodeId: Generated<number>;
  nodePoolTag: Generated<string>;
  tags: Generated<string>;
  retentionDays: Generated<number>;
  compression: Generated<string>;
  encrypt: Generated<number>;
  maxBackups: Generated<number>;
  backupMode: Generated<string>;
  diffFullIntervalDays: Generated<number>;
  keepDaily: Generated<number>;
  keepWeekly: Generated<number>;
  keepMonthly: Generated<number>;
  keepYearly: Generated<number>;
  lastRunAt: Generated<string | null>;
  lastStatus: Generated<string>;
  verifyEnabled: Generated<number>;
  verifyCronExpr: Generated<string>;
  verifyMode: Generated<string>;
  slaHoursRpo: Generated<number>;
  alertOnConsecutiveFails: Generated<number>;
  replicationTargetIds: Generated<string>;
  maintenanceWindows: Generated<string>;
  dependsOnTaskIds: Generated<string>;
  createdAt: string;
  updatedAt: string;
}

export interface BackupTaskStorageTargetsTable {
  taskId: number;
  storageTargetId: number;
  /** Order of the target in the task's list (0 = first). */
  position: number;
}

export interface BackupRecordsTable {
  id: Generated<number>;
  taskId: number;
  storageTargetId: Generated<number>;
  nodeId: Generated<number>;
  status: string;
  fileName: Generated<string>;
  fileSize: Generated<number>;
  checksum: Generated<string>;
  storagePath: Generated<string>;
  storageTransferMode: Generated<string>;
  storageUploadResults: Generated<string>;
  durationSeconds: Generated<number>;
  locked: Generated<number>;
  backupKind: Generated<string>;
  baseRecordId: Generated<number>;
  manifest: Generated<string>;
  errorMessage: Generated<string>;
  logContent: Generated<string>;
  runnerId: Generated<string>;
  heartbeatAt: Generated<string | null>;
  startedAt: string;
  completedAt: Generated<string | null>;
  /** BXENC2 artifacts sealed by an agent: the data key wrapped to the master (base64). */
  keyEnvelope: Generated<string>;
  /** Repository runs: JSON of the deduplication figures (contract RepositoryStats); '' otherwise. */
  repositoryStats: Generated<string>;
  createdAt: string;
  updatedAt: string;
}

/** Who writes to a storage target's repository now (SPEC §3.14 single writer), until when. */
export interface RepositoryLeasesTable {
  storageTargetId: number;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface RestoreRecordsTable {
  id: Generated<number>;
  backupRecordId: number;
  taskId: number;
  nodeId: Generated<number>;
  targetPath: Generated<string>;
  selectedPaths: Generated<string>;
  status: string;
  errorMessage: Generated<string>;
  logContent: Generated<string>;
  durationSeconds: Generated<number>;
  triggeredBy: Generated<string>;
  runnerId: Generated<string>;
  heartbeatAt: Generated<string | null>;
  startedAt: string;
  completedAt: Generated<string | null>;
  createdAt: string;
  updatedAt: string;
}

export interface NotificationsTable {
  id: Generated<number>;
  type: string;
  name: string;
  configCiphertext: string;
  enabled: Generated<number>;
  onSuccess: Generated<number>;
  onFailure: Generated<number>;
  eventTypes: Generated<string>;
  createdAt: string;
  updatedAt: string;
}

export interface ScheduleClaimsTable {
  taskId: number;
  /** `backup` or `verify`. */
  kind: string;
  fireAt: string;
  runnerId: string;
  createdAt: string;
}

export interface NodesTable {
  id: Generated<number>;
  name: string;
  isLocal: Generated<number>;
  tokenHash: string;
  tokenCiphertext: Generated<string>;
  prevTokenHash: Generated<string>;
  prevTokenExpiresAt: Generated<string | null>;
  status: Generated<string>;
  hostname: Generated<string>;
  ipAddress: Generated<string>;
  os: Generated<string>;
  arch: Generated<string>;
  agentVersion: Generated<string>;
  lastSeen: string;
  maxConcurrent: Generated<number>;
  bandwidthLimit: Generated<string>;
  labels: Generated<string>;
  outdatedAlertedAt: Generated<string | null>;
  createdAt: string;
  updatedAt: string;
}

export interface AgentCommandsTable {
  id: Generated<number>;
  nodeId: number;
  type: string;
  status: Generated<string>;
  payload: Generated<string>;
  result: Generated<string>;
  errorMessage: Generated<string>;
  backupRecordId: Generated<number>;
  restoreRecordId: Generated<number>;
  leaseExpiresAt: Generated<string | null>;
  createdAt: string;
  dispatchedAt: Generated<string | null>;
  completedAt: Generated<string | null>;
  updatedAt: string;
}

export interface ReplicationRecordsTable {
  id: Generated<number>;
  backupRecordId: number;
  taskId: number;
  sourceTargetId: number;
  destTargetId: number;
  status: string;
  storagePath: Generated<string>;
  fileSize: Generated<number>;
  checksum: Generated<string>;
  errorMessage: Generated<string>;
  durationSeconds: Generated<number>;
  triggeredBy: Generated<string>;
  startedAt: string;
  completedAt: string | null;
}
export type ReplicationRecordRow = Selectable<ReplicationRecordsTable>;

export interface VerificationRecordsTable {
  id: Generated<number>;
  backupRecordId: number;
  taskId: number;
  nodeId: Generated<number>;
  storageTargetId: Generated<number>;
  mode: string;
  status: string;
  summary: Generated<string>;
  errorMessage: Generated<string>;
  checksJson: Generated<string>;
  tableCountsJson: Generated<string>;
  rtoMs: Generated<number | null>;
  logContent: Generated<string>;
  durationSeconds: Generated<number>;
  triggeredBy: Generated<string>;
  runnerId: Generated<string>;
  heartbeatAt: Generated<string | null>;
  startedAt: string;
  completedAt: Generated<string | null>;
}
export type VerificationRecordRow = Selectable<VerificationRecordsTable>;

export interface SlaAlertsTable {
  taskId: number;
  alertedAt: string;
}

export interface AgentInstallTokensTable {
  id: Generated<number>;
  tokenHash: string;
  nodeId: number;
  mode: string;
  arch: string;
  agentVersion: string;
  downloadSrc: string;
  agentMasterUrl: Generated<string>;
  proxyUrl: Generated<string>;
  caCertFile: Generated<string>;
  expiresAt: string;
  consumedAt: Generated<string | null>;
  createdById: Generated<number>;
  createdAt: string;
}

export interface TaskTemplatesTable {
  id: Generated<number>;
  name: string;
  description: string;
  taskType: string;
  /** The task upsert body without its password (JSON). */
  payloadJson: string;
  /** The body's `dbPassword`, sealed with the master's SecretBox ('' = none). */
  payloadSecretCiphertext: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface Database {
  users: UsersTable;
  userSessions: UserSessionsTable;
  systemConfigs: SystemConfigsTable;
  apiKeys: ApiKeysTable;
  auditLogs: AuditLogsTable;
  rateLimitBuckets: RateLimitBucketsTable;
  storageTargets: StorageTargetsTable;
  backupTasks: BackupTasksTable;
  backupTaskStorageTargets: BackupTaskStorageTargetsTable;
  backupRecords: BackupRecordsTable;
  restoreRecords: RestoreRecordsTable;
  notifications: NotificationsTable;
  scheduleClaims: ScheduleClaimsTable;
  nodes: NodesTable;
  agentCommands: AgentCommandsTable;
  agentInstallTokens: AgentInstallTokensTable;
  slaAlerts: SlaAlertsTable;
  taskTemplates: TaskTemplatesTable;
  replicationRecords: ReplicationRecordsTable;
  verificationRecords: VerificationRecordsTable;
  repositoryLeases: RepositoryLeasesTable;
}

/** Column names per table, as declared above; the schema test compares them with the migrated database. */
export const declaredColumns: Record<string, readonly string[]> = {
  users: [
    'id',
    'username',
    'password_hash',
    'display_name',
    'email',
    'phone',
    'role',
    'disabled',
    'two_factor_enabled',
    'two_factor_secret_ciphertext',
    'two_factor_recovery_code_hashes',
    'two_factor_last_step',
    'web_authn_credentials',
    'web_authn_challenge_ciphertext',
    'trusted_devices',
    'email_otp_enabled',
    'sms_otp_enabled',
    'out_of_band_otp_ciphertext',
    'created_at',
    'updated_at',
  ],
  user_sessions: ['id', 'user_id', 'created_at', 'expires_at', 'revoked_at', 'client_ip', 'user_agent'],
  system_configs: ['id', 'key', 'value', 'encrypted', 'created_at', 'updated_at'],
  api_keys: [
    'id',
    'name',
    'role',
    'key_hash',
    'prefix',
    'created_by',
    'last_used_at',
    'expires_at',
    'disabled',
    'created_at',
    'updated_at',
  ],
  audit_logs: [
    'id',
    'user_id',
    'username',
    'category',
    'action',
    'target_type',
    'target_id',
    'target_name',
    'detail',
    'client_ip',
    'created_at',
  ],
  rate_limit_buckets: ['key', 'window_started_at', 'count'],
  storage_targets: [
    'id',
    'name',
    'type',
    'description',
    'enabled',
    'starred',
    'config_ciphertext',
    'config_version',
    'last_tested_at',
    'last_test_status',
    'last_test_message',
    'quota_bytes',
    'created_at',
    'updated_at',
  ],
  backup_tasks: [
    'id',
    'name',
    'type',
    'enabled',
    'cron_expr',
    'source_path',
    'source_paths',
    'exclude_patterns',
    'db_host',
    'db_port',
    'db_user',
    'db_name',
    'db_path',
    'db_password_ciphertext',
    'extra_config',
    'storage_target_id',
    'node_id',
    'node_pool_tag',
    'tags',
    'retention_days',
    'compression',
    'encrypt',
    'max_backups',
    'backup_mode',
    'diff_full_interval_days',
    'keep_daily',
    'keep_weekly',
    'keep_monthly',
    'keep_yearly',
    'last_run_at',
    'last_status',
    'verify_enabled',
    'verify_cron_expr',
    'verify_mode',
    'sla_hours_rpo',
    'alert_on_consecutive_fails',
    'replication_target_ids',
    'maintenance_windows',
    'depends_on_task_ids',
    'created_at',
    'updated_at',
  ],
  backup_task_storage_targets: ['task_id', 'storage_target_id', 'position'],
  backup_records: [
    'id',
    'task_id',
    'storage_target_id',
    'node_id',
    'status',
    'file_name',
    'file_size',
    'checksum',
    'storage_path',
    'storage_transfer_mode',
    'storage_upload_results',
    'duration_seconds',
    'locked',
    'backup_kind',
    'base_record_id',
    'manifest',
    'error_message',
    'log_content',
    'runner_id',
    'heartbeat_at',
    'started_at',
    'completed_at',
    'created_at',
    'updated_at',
    'key_envelope',
    'repository_stats',
  ],
  restore_records: [
    'id',
    'backup_record_id',
    'task_id',
    'node_id',
    'target_path',
    'selected_paths',
    'status',
    'error_message',
    'log_content',
    'duration_seconds',
    'triggered_by',
    'runner_id',
    'heartbeat_at',
    'started_at',
    'completed_at',
    'created_at',
    'updated_at',
  ],
  notifications: [
    'id',
    'type',
    'name',
    'config_ciphertext',
    'enabled',
    'on_success',
    'on_failure',
    'event_types',
    'created_at',
    'updated_at',
  ],
  schedule_claims: ['task_id', 'kind', 'fire_at', 'runner_id', 'created_at'],
  nodes: [
    'id',
    'name',
    'is_local',
    'token_hash',
    'token_ciphertext',
    'prev_token_hash',
    'prev_token_expires_at',
    'status',
    'hostname',
    'ip_address',
    'os',
    'arch',
    'agent_version',
    'last_seen',
    'max_concurrent',
    'bandwidth_limit',
    'labels',
    'outdated_alerted_at',
    'created_at',
    'updated_at',
  ],
  agent_commands: [
    'id',
    'node_id',
    'type',
    'status',
    'payload',
    'result',
    'error_message',
    'backup_record_id',
    'restore_record_id',
    'lease_expires_at',
    'created_at',
    'dispatched_at',
    'completed_at',
    'updated_at',
  ],
  sla_alerts: ['task_id', 'alerted_at'],
  agent_install_tokens: [
    'id',
    'token_hash',
    'node_id',
    'mode',
    'arch',
    'agent_version',
    'download_src',
    'agent_master_url',
    'proxy_url',
    'ca_cert_file',
    'expires_at',
    'consumed_at',
    'created_by_id',
    'created_at',
  ],
  replication_records: [
    'id',
    'backup_record_id',
    'task_id',
    'source_target_id',
    'dest_target_id',
    'status',
    'storage_path',
    'file_size',
    'checksum',
    'error_message',
    'duration_seconds',
    'triggered_by',
    'started_at',
    'completed_at',
  ],
  verification_records: [
    'id',
    'backup_record_id',
    'task_id',
    'node_id',
    'storage_target_id',
    'mode',
    'status',
    'summary',
    'error_message',
    'checks_json',
    'table_counts_json',
    'rto_ms',
    'log_content',
    'duration_seconds',
    'triggered_by',
    'runner_id',
    'heartbeat_at',
    'started_at',
    'completed_at',
  ],
  repository_leases: ['storage_target_id', 'holder', 'acquired_at', 'expires_at'],
  task_templates: [
    'id',
    'name',
    'description',
    'task_type',
    'payload_json',
    'payload_secret_ciphertext',
    'created_by',
    'created_at',
    'updated_at',
  ],
};

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserPatch = Updateable<UsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AuditLogRow = Selectable<AuditLogsTable>;
export type UserSessionRow = Selectable<UserSessionsTable>;
export type StorageTargetRow = Selectable<StorageTargetsTable>;
export type BackupTaskRow = Selectable<BackupTasksTable>;
export type NewBackupTaskRow = Insertable<BackupTasksTable>;
export type BackupRecordRow = Selectable<BackupRecordsTable>;
export type RestoreRecordRow = Selectable<RestoreRecordsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type NodeRow = Selectable<NodesTable>;
export type AgentCommandRow = Selectable<AgentCommandsTable>;
export type AgentInstallTokenRow = Selectable<AgentInstallTokensTable>;
export type TaskTemplateRow = Selectable<TaskTemplatesTable>;
