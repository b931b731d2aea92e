/** Artifact names and object keys, exactly as BackupX writes them (SPEC §3.4). */

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `YYYYMMDDTHHMMSS` in UTC (file, SQLite, PostgreSQL, HANA runners). */
export const compactTimestamp = (date: Date): string =>
  `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;

/** `YYYYMMDD_HHMMSS` in UTC (MySQL, MongoDB runners, HANA backup prefixes). */
export const underscoreTimestamp = (date: Date): string =>
  `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;

/** `YYMMDD` in UTC, the date folder of object keys. */
export const keyDate = (date: Date): string =>
  `${pad(date.getUTCFullYear() % 100)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}`;

/** sanitizeA: keep [a-z0-9-_] (lower-cased), space and `.` → `_`, drop the rest, trim `_`; empty → `backup`. */
export const sanitizeTaskNameA = (name: string): string => {
  let out = '';
  for (const char of name.toLowerCase()) {
    if (/[a-z0-9_-]/.test(char)) out += char;
    else if (char === ' ' || char === '.') out += '_';
  }
  out = out.replace(/^_+|_+$/g, '');
  return out === '' ? 'backup' : out;
};

/** sanitizeB: lower-case, spaces → `-`, runs outside [A-Za-z0-9._-] → `-`, trim `-._`; empty → `backup`. */
export const sanitizeTaskNameB = (name: string): string => {
  const out = name
    .toLowerCase()
    .replace(/ /g, '-')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '');
  return out === '' ? 'backup' : out;
};

/** Suffixes added after the source artifact: compression, then encryption. */
export const finalFileName = (
  artifactName: string,
  compression: 'gzip' | 'zstd' | 'none',
  encrypted: boolean,
): string => {
  let name = artifactName;
  if (compression === 'gzip' && !name.endsWith('.gz')) name += '.gz';
  if (compression === 'zstd') name += '.zst';
  if (encrypted) name += '.enc';
  return name;
};

/** Object key of a master-executed backup: `BackupX/<type>/<YYMMDD>/<file>`. */
export const masterObjectKey = (taskType: string, startedAt: Date, fileName: string): string =>
  `BackupX/${taskType}/${keyDate(startedAt)}/${fileName}`;

/** The task type as it appears in object keys: BackupX's legacy `pgsql` is `postgresql`. */
export const storageTypeLabel = (taskType: string): string =>
  taskType === 'pgsql' ? 'postgresql' : taskType;

/**
 * The namespace an agent-executed run writes in: `BackupX/<type>/<YYMMDD>/records/<recordId>/`.
 * Everything under it belongs to that one record, so it can be cleaned up without knowing names.
 */
export const agentRecordPrefix = (taskType: string, startedAt: Date, recordId: number): string =>
  `BackupX/${taskType}/${keyDate(startedAt)}/records/${recordId}/`;

/** Object key of an agent-executed backup: `BackupX/<type>/<YYMMDD>/records/<recordId>/<file>`. */
export const agentObjectKey = (
  taskType: string,
  startedAt: Date,
  recordId: number,
  fileName: string,
): string => `${agentRecordPrefix(taskType, startedAt, recordId)}${fileName}`;
