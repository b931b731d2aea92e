import { z } from 'zod';

/** Field metadata the console uses to render forms; `secret` fields are write-only (masked on read). */
export interface StorageFieldMeta {
  secret?: boolean;
  label?: string;
  advanced?: boolean;
}

const secret = <T extends z.ZodType>(schema: T) => schema.meta({ secret: true });
const optionalText = z.string().trim().max(2048).default('');

/** Local filesystem rooted at `basePath` (SPEC §4.2); `masterRelay` lets agents upload through the master. */
export const localDiskConfigSchema = z.strictObject({
  basePath: z
    .string()
    .trim()
    .min(1)
    .max(1024)
    .refine((p) => p.startsWith('/'), 'must be an absolute path'),
  masterRelay: z.boolean().default(false),
});

/** Any S3-compatible service (AWS, MinIO, Ceph, …). Path-style is the safe default for self-hosted endpoints. */
export const s3ConfigSchema = z.strictObject({
  endpoint: optionalText,
  region: z.string().trim().max(64).default('us-east-1'),
  bucket: z.string().trim().min(1).max(255),
  accessKeyId: secret(z.string().trim().min(1).max(256)),
  secretAccessKey: secret(z.string().min(1).max(512)),
  forcePathStyle: z.boolean().default(true),
  /** Key prefix inside the bucket. */
  prefix: z.string().trim().max(1024).default(''),
});

/** Alibaba OSS, Tencent COS, Qiniu Kodo: S3-compatible with provider endpoints (SPEC §4.2). */
export const s3PresetConfigSchema = z.strictObject({
  region: z.string().trim().min(1).max(64),
  bucket: z.string().trim().min(1).max(255),
  accessKeyId: secret(z.string().trim().min(1).max(256)),
  secretAccessKey: secret(z.string().min(1).max(512)),
  endpoint: optionalText,
  internalNetwork: z.boolean().default(false),
  prefix: z.string().trim().max(1024).default(''),
});

export const webdavConfigSchema = z.strictObject({
  endpoint: z.url({ protocol: /^https?$/ }).max(2048),
  username: secret(z.string().max(256).default('')),
  password: secret(z.string().max(512).default('')),
  basePath: z.string().trim().max(1024).default(''),
});

export const ftpConfigSchema = z.strictObject({
  host: z.string().trim().min(1).max(255),
  port: z.number().int().min(1).max(65_535).default(21),
  username: secret(z.string().max(256).default('anonymous')),
  password: secret(z.string().max(512).default('')),
  basePath: z.string().trim().max(1024).default(''),
  /** Explicit FTPS (AUTH TLS). */
  useTLS: z.boolean().default(false),
  /** Accept a self-signed server certificate (testing only). */
  insecureSkipVerify: z.boolean().default(false),
});

/** SFTP with rclone's option names, so BackupX targets keep their config. */
export const sftpConfigSchema = z.strictObject({
  host: z.string().trim().min(1).max(255),
  port: z.number().int().min(1).max(65_535).default(22),
  user: z.string().trim().min(1).max(256),
  pass: secret(z.string().max(512).default('')),
  /** PEM private key (OpenSSH or PKCS#1/8). */
  key_pem: secret(z.string().max(16_384).default('')),
  key_file_pass: secret(z.string().max(512).default('')),
  /** Expected host key, `SHA256:<base64>` as `ssh-keygen -lf` prints it; empty accepts any (logged). */
  host_key_sha256: z.string().trim().max(128).default(''),
  root: z.string().trim().max(1024).default(''),
});

/** Azure Blob Storage with rclone's option names; `root` is `container[/prefix]`. */
export const azureBlobConfigSchema = z.strictObject({
  account: z.string().trim().min(1).max(128),
  key: secret(z.string().max(512).default('')),
  sas_url: secret(z.string().max(4096).default('')),
  /** Service URL override (Azurite, sovereign clouds), e.g. http://127.0.0.1:10000/devstoreaccount1. */
  endpoint: optionalText,
  root: z.string().trim().min(1).max(1024),
});

export const googleDriveConfigSchema = z.strictObject({
  clientId: secret(z.string().trim().min(1).max(512)),
  clientSecret: secret(z.string().trim().min(1).max(512)),
  refreshToken: secret(z.string().trim().min(1).max(2048)),
  folderId: z.string().trim().max(256).default(''),
  redirectUri: optionalText,
  /** API base URLs, overridable for tests and proxies. */
  apiBaseUrl: z.string().trim().max(2048).default('https://www.googleapis.com'),
  tokenUrl: z.string().trim().max(2048).default('https://oauth2.googleapis.com/token'),
});

/** Any rclone remote through the `rclone` binary: `backend` plus that backend's options. */
export const rcloneConfigSchema = z
  .object({
    backend: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9]+$/),
    root: z.string().trim().max(1024).default(''),
  })
  .catchall(z.union([z.string().max(4096), z.number(), z.boolean()]));

/** Option names rclone treats as secrets (masked, never returned). */
export const rcloneSecretOptions = [
  'pass',
  'password',
  'secret_access_key',
  'client_secret',
  'token',
  'key',
  'sas_url',
  'key_pem',
];

export const storageConfigSchemas = {
  local_disk: localDiskConfigSchema,
  s3: s3ConfigSchema,
  aliyun_oss: s3PresetConfigSchema,
  tencent_cos: s3PresetConfigSchema,
  qiniu_kodo: s3PresetConfigSchema,
  webdav: webdavConfigSchema,
  ftp: ftpConfigSchema,
  sftp: sftpConfigSchema,
  azureblob: azureBlobConfigSchema,
  google_drive: googleDriveConfigSchema,
  rclone: rcloneConfigSchema,
} as const;

export type StorageType = keyof typeof storageConfigSchemas;
export const storageTypes = Object.keys(storageConfigSchemas) as StorageType[];
export type StorageConfig<T extends StorageType> = z.infer<(typeof storageConfigSchemas)[T]>;

/** Names of the secret fields of a storage type. */
export const storageSecretFields = (type: StorageType): string[] => {
  if (type === 'rclone') return rcloneSecretOptions;
  const shape = (storageConfigSchemas[type] as z.ZodObject).shape as Record<string, z.ZodType>;
  return Object.entries(shape)
    .filter(([, field]) => (field.meta() as StorageFieldMeta | undefined)?.secret === true)
    .map(([name]) => name);
};
