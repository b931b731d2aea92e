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

export interface Database {
  users: UsersTable;
  userSessions: UserSessionsTable;
  systemConfigs: SystemConfigsTable;
  apiKeys: ApiKeysTable;
  auditLogs: AuditLogsTable;
  rateLimitBuckets: RateLimitBucketsTable;
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
};

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserPatch = Updateable<UsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AuditLogRow = Selectable<AuditLogsTable>;
export type UserSessionRow = Selectable<UserSessionsTable>;
