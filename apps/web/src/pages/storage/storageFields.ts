/**
 * Form fields of a storage type, derived from its zod schema in `@backupx/contract`
 * (`storageConfigSchemas`) so the console follows the server's rules without a copy of them,
 * and from the option metadata of an rclone backend.
 */
import type { z } from 'zod';
import { MASKED_SECRET, storageConfigSchemas, storageTypes } from '@backupx/contract';
import type { RcloneBackendInfo, StorageFieldMeta, StorageType } from '@backupx/contract';

export type StorageFieldKind = 'text' | 'multiline' | 'password' | 'number' | 'boolean';
export type StorageFieldValue = string | number | boolean;

export interface StorageFieldSpec {
  name: string;
  kind: StorageFieldKind;
  /** The server refuses the config without a value (a stored secret counts as a value on edit). */
  required: boolean;
  secret: boolean;
  /** Shown in the collapsed "advanced" section. */
  advanced: boolean;
  defaultValue: StorageFieldValue | undefined;
  min?: number;
  max?: number;
  maxLength?: number;
  isUrl?: boolean;
  /** Label from rclone's metadata (built-in fields are labelled by translation). */
  label?: string;
}

/** Built-in types in the order of the type select (rclone backends follow in their own groups). */
export const builtinStorageTypes = storageTypes.filter((type) => type !== 'rclone');

/** Fields that rarely need changing: tucked away under "advanced". */
const advancedFields: Partial<Record<StorageType, readonly string[]>> = {
  ftp: ['insecureSkipVerify'],
  sftp: ['key_file_pass', 'host_key_sha256'],
  azureblob: ['endpoint', 'sas_url'],
  google_drive: ['refreshToken', 'redirectUri', 'apiBaseUrl', 'tokenUrl'],
  s3: ['forcePathStyle'],
};

/** Fields filled by a flow rather than typed (the Drive refresh token comes from OAuth). */
const optionalInForm: Partial<Record<StorageType, readonly string[]>> = {
  google_drive: ['refreshToken'],
};

type AnySchema = z.ZodType & {
  def: { type: string; innerType?: AnySchema };
  minLength?: number | null;
  maxLength?: number | null;
  minValue?: number | null;
  maxValue?: number | null;
  format?: string | null;
};

const metaOf = (schema: AnySchema): StorageFieldMeta | undefined =>
  schema.meta() as StorageFieldMeta | undefined;

/** Unwraps `default`/`optional` wrappers, collecting metadata set on any layer. */
function unwrap(schema: AnySchema): { base: AnySchema; wrapped: boolean; meta: StorageFieldMeta } {
  let current = schema;
  let wrapped = false;
  let meta: StorageFieldMeta = { ...metaOf(current) };
  while (
    (current.def.type === 'default' || current.def.type === 'optional' || current.def.type === 'nullable') &&
    current.def.innerType
  ) {
    wrapped = true;
    current = current.def.innerType;
    meta = { ...metaOf(current), ...meta };
  }
  return { base: current, wrapped, meta };
}

const finiteOrUndefined = (value: number | null | undefined) =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** The fields of a built-in storage type, in schema order. */
export function describeStorageFields(type: StorageType): StorageFieldSpec[] {
  if (type === 'rclone') return [];
  const schema = storageConfigSchemas[type] as unknown as z.ZodObject;
  const shape = schema.shape as Record<string, AnySchema>;
  return Object.entries(shape).map(([name, field]) => {
    const { base, wrapped, meta } = unwrap(field);
    const parsedDefault = field.safeParse(undefined);
    const defaultValue =
      parsedDefault.success &&
      (typeof parsedDefault.data === 'string' ||
        typeof parsedDefault.data === 'number' ||
        typeof parsedDefault.data === 'boolean')
        ? parsedDefault.data
        : undefined;
    const secret = meta.secret === true;
    const baseType = base.def.type;
    const maxLength = finiteOrUndefined(base.maxLength);
    let kind: StorageFieldKind;
    if (baseType === 'boolean') kind = 'boolean';
    else if (baseType === 'number') kind = 'number';
    // Long values (PEM keys) get a text area, secret or not.
    else if ((maxLength ?? 0) > 8192) kind = 'multiline';
    else kind = secret ? 'password' : 'text';
    const minLength = finiteOrUndefined(base.minLength) ?? 0;
    const required =
      !wrapped &&
      !(optionalInForm[type] ?? []).includes(name) &&
      (kind === 'number' || kind === 'boolean' || minLength > 0 || base.format === 'url');
    const spec: StorageFieldSpec = {
      name,
      kind,
      required,
      secret,
      advanced: meta.advanced === true || (advancedFields[type] ?? []).includes(name),
      defaultValue,
    };
    const min = finiteOrUndefined(base.minValue);
    const max = finiteOrUndefined(base.maxValue);
    if (kind === 'number') {
      if (min !== undefined) spec.min = min;
      if (max !== undefined && max < Number.MAX_SAFE_INTEGER) spec.max = max;
    }
    if (maxLength !== undefined) spec.maxLength = maxLength;
    if (base.format === 'url') spec.isUrl = true;
    return spec;
  });
}

/** The fields of an rclone backend: `root` first, then the options, required ones before the rest. */
export function describeRcloneFields(backend: RcloneBackendInfo): StorageFieldSpec[] {
  const options = [...backend.options].sort((a, b) => Number(b.required) - Number(a.required));
  return [
    {
      name: 'root',
      kind: 'text',
      required: false,
      secret: false,
      advanced: false,
      defaultValue: '',
      maxLength: 1024,
    },
    ...options
      .filter((option) => option.key !== 'root' && option.key !== 'backend')
      .map<StorageFieldSpec>((option) => ({
        name: option.key,
        kind: option.isPassword ? 'password' : 'text',
        required: option.required,
        secret: option.isPassword,
        advanced: option.advanced && !option.required,
        defaultValue: undefined,
        maxLength: 4096,
        label: option.label,
      })),
  ];
}

/** Initial form values of a new target: each field's default (booleans false, text empty). */
export function defaultConfigValues(
  fields: readonly StorageFieldSpec[],
): Record<string, StorageFieldValue | undefined> {
  const values: Record<string, StorageFieldValue | undefined> = {};
  for (const field of fields) {
    if (field.defaultValue !== undefined) values[field.name] = field.defaultValue;
    else if (field.kind === 'boolean') values[field.name] = false;
    else if (field.kind === 'number') values[field.name] = undefined;
    else values[field.name] = '';
  }
  return values;
}

/**
 * Form values of a saved target. Secret fields start empty (the placeholder says a value is
 * stored); the masked `********` never enters an input.
 */
export function configFormValues(
  fields: readonly StorageFieldSpec[],
  config: Record<string, unknown>,
): Record<string, StorageFieldValue | undefined> {
  const values = defaultConfigValues(fields);
  for (const field of fields) {
    if (field.secret) {
      values[field.name] = '';
      continue;
    }
    const value = config[field.name];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values[field.name] = field.kind === 'boolean' ? value === true || value === 'true' : value;
    }
  }
  return values;
}

/**
 * The `config` to send. Empty secrets are sent as `""`, which the server reads as "keep the stored
 * value" on update; empty numbers are left out so their default applies. Rclone options are sent
 * only when set, or as `""` to clear one the target had.
 */
export function buildConfigPayload(
  fields: readonly StorageFieldSpec[],
  values: Record<string, unknown>,
  options: { rcloneBackend?: string; storedConfig?: Record<string, unknown> } = {},
): Record<string, StorageFieldValue> {
  const config: Record<string, StorageFieldValue> = {};
  if (options.rcloneBackend !== undefined) config.backend = options.rcloneBackend;
  for (const field of fields) {
    const raw = values[field.name];
    if (field.kind === 'boolean') {
      config[field.name] = raw === true;
      continue;
    }
    if (field.kind === 'number') {
      if (typeof raw === 'number' && Number.isFinite(raw)) config[field.name] = raw;
      continue;
    }
    const text =
      typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : '';
    if (text === MASKED_SECRET) {
      config[field.name] = '';
      continue;
    }
    if (options.rcloneBackend !== undefined && field.name !== 'root' && text === '') {
      if (options.storedConfig && field.name in options.storedConfig && !field.secret)
        config[field.name] = '';
      continue;
    }
    config[field.name] = text;
  }
  return config;
}

const GIB = 1024 ** 3;

/** Quota in GB as typed (decimals allowed) → bytes; 0, empty or negative = unlimited. */
export const quotaGbToBytes = (gb: number | null | undefined): number =>
  typeof gb === 'number' && Number.isFinite(gb) && gb > 0 ? Math.round(gb * GIB) : 0;

/** Bytes → GB for the quota input, rounded to two decimals. */
export const quotaBytesToGb = (bytes: number): number =>
  bytes > 0 ? Math.round((bytes / GIB) * 100) / 100 : 0;

/** Value of the type select: a built-in type, or `rclone:<backend>`. */
export const rcloneTypeValue = (backend: string): string => `rclone:${backend}`;

export function parseTypeValue(value: string): { type: StorageType; rcloneBackend?: string } | null {
  if (value.startsWith('rclone:')) {
    const backend = value.slice('rclone:'.length);
    return backend === '' ? null : { type: 'rclone', rcloneBackend: backend };
  }
  return (storageTypes as readonly string[]).includes(value) ? { type: value as StorageType } : null;
}

export type RcloneGroup = 'fileTransfer' | 'cloud' | 'drive' | 'enterprise' | 'selfHosted' | 'other';
export const rcloneGroups: readonly RcloneGroup[] = [
  'fileTransfer',
  'cloud',
  'drive',
  'enterprise',
  'selfHosted',
  'other',
];

const rcloneGroupOf: Record<string, RcloneGroup> = {
  ftp: 'fileTransfer',
  sftp: 'fileTransfer',
  smb: 'fileTransfer',
  http: 'fileTransfer',
  webdav: 'fileTransfer',
  s3: 'cloud',
  gcs: 'cloud',
  azureblob: 'cloud',
  azurefiles: 'cloud',
  b2: 'cloud',
  swift: 'cloud',
  oos: 'cloud',
  qingstor: 'cloud',
  storj: 'cloud',
  cloudinary: 'cloud',
  drive: 'drive',
  dropbox: 'drive',
  onedrive: 'drive',
  box: 'drive',
  pcloud: 'drive',
  mega: 'drive',
  yandex: 'drive',
  jottacloud: 'drive',
  koofr: 'drive',
  opendrive: 'drive',
  pikpak: 'drive',
  putio: 'drive',
  premiumizeme: 'drive',
  sugarsync: 'drive',
  hidrive: 'drive',
  zoho: 'drive',
  mailru: 'drive',
  protondrive: 'drive',
  iclouddrive: 'drive',
  gphotos: 'drive',
  fichier: 'drive',
  gofile: 'drive',
  linkbox: 'drive',
  ulozto: 'drive',
  pixeldrain: 'drive',
  internetarchive: 'drive',
  sharefile: 'enterprise',
  filefabric: 'enterprise',
  quatrix: 'enterprise',
  netstorage: 'enterprise',
  hdfs: 'enterprise',
  imagekit: 'enterprise',
  filescom: 'enterprise',
  seafile: 'selfHosted',
  sia: 'selfHosted',
};

/** The group of an rclone backend in the type select. */
export const rcloneGroup = (name: string): RcloneGroup => rcloneGroupOf[name] ?? 'other';
