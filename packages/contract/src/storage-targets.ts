import { z } from 'zod';
import { defineRoute } from './route.ts';
import { deletedSchema, idParams, idSchema, timestampSchema } from './common.ts';

/** Outcome of the last connection test of a target (SPEC §1.3). */
export const storageTestStatuses = ['unknown', 'success', 'failed'] as const;
export const storageTestStatusSchema = z.enum(storageTestStatuses);
export type StorageTestStatus = z.infer<typeof storageTestStatusSchema>;

/** A storage target as lists show it: no configuration at all. */
export const storageTargetSummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  type: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  starred: z.boolean(),
  lastTestedAt: timestampSchema.nullable(),
  lastTestStatus: storageTestStatusSchema,
  lastTestMessage: z.string(),
  /** Hard quota in bytes; 0 = unlimited. */
  quotaBytes: z.number().int(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type StorageTargetSummary = z.infer<typeof storageTargetSummarySchema>;

/** One target with its configuration; secret fields that hold a value read `********`. */
export const storageTargetDetailSchema = storageTargetSummarySchema.extend({
  config: z.record(z.string(), z.unknown()),
  /** The secret field names of the type (masked when set, write-only). */
  maskedFields: z.array(z.string()),
});
export type StorageTargetDetail = z.infer<typeof storageTargetDetailSchema>;

const targetName = z.string().trim().min(1).max(128);
/** The type is free text here so an unknown one is answered with STORAGE_PROVIDER_UNSUPPORTED. */
const targetType = z.string().trim().min(1).max(32);
const description = z.string().trim().max(255);
const quotaBytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Checked against the type's schema (`storageConfigSchemas`) by the server. */
const configObject = z.record(z.string(), z.unknown());

/** `POST /api/storage-targets`. `enabled:false` is kept (BackupX turned it into true, SPEC §1 quirk 6). */
export const storageTargetCreateInputSchema = z.strictObject({
  name: targetName,
  type: targetType,
  description: description.default(''),
  enabled: z.boolean().default(true),
  quotaBytes: quotaBytes.default(0),
  config: configObject,
});
export type StorageTargetCreateInput = z.infer<typeof storageTargetCreateInputSchema>;

/**
 * `PUT /api/storage-targets/:id`. Absent fields keep their value. `config` is merged into the
 * stored one; a secret field sent as `""` or `********` keeps its stored value (SPEC §4.3).
 */
export const storageTargetUpdateInputSchema = z.strictObject({
  name: targetName,
  type: targetType,
  description: description.optional(),
  enabled: z.boolean().optional(),
  quotaBytes: quotaBytes.optional(),
  config: configObject.default({}),
});
export type StorageTargetUpdateInput = z.infer<typeof storageTargetUpdateInputSchema>;

/**
 * `POST /api/storage-targets/test`: a full upsert payload, tested and never saved. With
 * `targetId` the config is merged into that target's like an update, so an edit form holding
 * masked secrets can be tested before it is saved.
 */
export const storageTargetTestInputSchema = storageTargetCreateInputSchema.extend({
  targetId: idSchema.optional(),
});
export type StorageTargetTestInput = z.infer<typeof storageTargetTestInputSchema>;

export const storageTestResultSchema = z.object({ success: z.literal(true), message: z.string() });

/** Capacity as the backend reports it (local disk, WebDAV quota, Drive, SFTP statvfs…). */
export const storageDiskUsageSchema = z.object({
  total: z.number().optional(),
  used: z.number().optional(),
  free: z.number().optional(),
  objects: z.number().optional(),
});

export const storageTargetUsageSchema = z.object({
  targetId: z.number().int(),
  targetName: z.string(),
  /** Successful records holding a copy on this target (every copy counts, SPEC §17.4 quirk 14 fixed). */
  recordCount: z.number().int(),
  /** Sum of the sizes of those copies, in bytes: what counts against the quota. */
  totalSize: z.number(),
  /** Present when the backend can report its capacity and answered in time. */
  diskUsage: storageDiskUsageSchema.optional(),
});
export type StorageTargetUsage = z.infer<typeof storageTargetUsageSchema>;

export const rcloneBackendOptionSchema = z.object({
  key: z.string(),
  label: z.string(),
  required: z.boolean(),
  isPassword: z.boolean(),
  advanced: z.boolean(),
});
/** One rclone backend usable as `{type: "rclone", config: {backend: name, …options}}`. */
export const rcloneBackendSchema = z.object({
  name: z.string(),
  description: z.string(),
  options: z.array(rcloneBackendOptionSchema),
});
export type RcloneBackendInfo = z.infer<typeof rcloneBackendSchema>;

const googleClientFields = {
  clientId: z.string().trim().max(512).optional(),
  clientSecret: z.string().trim().max(512).optional(),
  folderId: z.string().trim().max(256).optional(),
};

/**
 * `POST /api/storage-targets/google-drive/auth-url` (SPEC §4.8). Client credentials may sit in
 * `config` or at the top level; for an existing target (`targetId`) blank or masked ones fall back
 * to the stored values.
 */
export const googleDriveAuthUrlInputSchema = z.strictObject({
  targetId: idSchema.optional(),
  name: targetName,
  description: description.default(''),
  enabled: z.boolean().default(true),
  quotaBytes: quotaBytes.default(0),
  // The edit form sends its whole config; only the client fields are used.
  config: z.object(googleClientFields).optional(),
  ...googleClientFields,
});
export type GoogleDriveAuthUrlInput = z.infer<typeof googleDriveAuthUrlInputSchema>;

export const googleDriveCompleteInputSchema = z.strictObject({
  state: z.string().trim().min(1).max(256),
  code: z.string().trim().min(1).max(4096),
});

export const googleDriveProfileSchema = z.object({
  email: z.string(),
  name: z.string(),
  picture: z.string(),
});

export const storageTargetRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/storage-targets',
    access: 'viewer',
    tag: 'storage-targets',
    summary: 'List storage targets (starred first, then most recently updated)',
    response: z.array(storageTargetSummarySchema),
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/storage-targets',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Create a storage target (config validated for its type, stored encrypted)',
    body: storageTargetCreateInputSchema,
    response: storageTargetDetailSchema,
  }),
  testUnsaved: defineRoute({
    method: 'POST',
    path: '/api/storage-targets/test',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Test a configuration without saving anything',
    body: storageTargetTestInputSchema,
    response: storageTestResultSchema,
  }),
  rcloneBackends: defineRoute({
    method: 'GET',
    path: '/api/storage-targets/rclone/backends',
    access: 'viewer',
    tag: 'storage-targets',
    summary: 'Backends of the installed rclone usable with type `rclone` (empty without rclone)',
    response: z.array(rcloneBackendSchema),
  }),
  googleDriveAuthUrl: defineRoute({
    method: 'POST',
    path: '/api/storage-targets/google-drive/auth-url',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Start the Google Drive OAuth flow; returns the consent URL (valid 10 minutes)',
    body: googleDriveAuthUrlInputSchema,
    response: z.object({ authUrl: z.string() }),
  }),
  googleDriveComplete: defineRoute({
    method: 'POST',
    path: '/api/storage-targets/google-drive/complete',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Finish the Google Drive OAuth flow with `{state, code}`; creates or updates the target',
    body: googleDriveCompleteInputSchema,
    response: storageTargetDetailSchema,
  }),
  googleDriveCallback: defineRoute({
    method: 'GET',
    path: '/api/storage-targets/google-drive/callback',
    // Operator, not any role as in BackupX: it creates or updates a target.
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Finish the Google Drive OAuth flow from the redirect query (`state`, `code`)',
    query: googleDriveCompleteInputSchema.extend({ scope: z.string().max(4096).optional() }),
    response: z.object({ success: z.literal(true), message: z.string(), target: storageTargetDetailSchema }),
  }),
  get: defineRoute({
    method: 'GET',
    path: '/api/storage-targets/:id',
    access: 'viewer',
    tag: 'storage-targets',
    summary: 'One storage target with its configuration (secrets masked)',
    params: idParams,
    response: storageTargetDetailSchema,
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/storage-targets/:id',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Update a storage target (type is immutable; masked secrets keep their value)',
    params: idParams,
    body: storageTargetUpdateInputSchema,
    response: storageTargetDetailSchema,
  }),
  remove: defineRoute({
    method: 'DELETE',
    path: '/api/storage-targets/:id',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Delete a storage target no task uses',
    params: idParams,
    response: deletedSchema,
  }),
  star: defineRoute({
    method: 'PUT',
    path: '/api/storage-targets/:id/star',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Toggle the favourite flag',
    params: idParams,
    response: storageTargetSummarySchema,
  }),
  test: defineRoute({
    method: 'POST',
    path: '/api/storage-targets/:id/test',
    access: 'operator',
    tag: 'storage-targets',
    summary: 'Test a saved target and remember the outcome (lastTestedAt/Status/Message)',
    params: idParams,
    response: storageTestResultSchema,
  }),
  usage: defineRoute({
    method: 'GET',
    path: '/api/storage-targets/:id/usage',
    access: 'viewer',
    tag: 'storage-targets',
    summary: 'Records and bytes stored on the target, and its capacity when the backend reports it',
    params: idParams,
    response: storageTargetUsageSchema,
  }),
  googleDriveProfile: defineRoute({
    method: 'GET',
    path: '/api/storage-targets/:id/google-drive/profile',
    access: 'viewer',
    tag: 'storage-targets',
    summary: 'The Google account a Google Drive target is connected to',
    params: idParams,
    response: googleDriveProfileSchema,
  }),
} as const;
