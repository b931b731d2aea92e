/**
 * Turning a task spec (SPEC §11.8) into an engine source, the way the master's backup runner
 * does for its own runs (apps/server/src/modules/runs/backup-runner.ts, openSource), so a task
 * produces the same artifact wherever it runs.
 */
import {
  backupFiles,
  backupMongodb,
  backupMysql,
  backupPostgresql,
  backupSaphana,
  backupSqlite,
  type Compression,
  type DatabaseConnection,
  type SourceArtifact,
  type SourceContext,
  storageTypeLabel,
} from '@backupx/engine';

/**
 * A list field of the spec: a JSON array in a string (BackupX's shape), or a legacy list with
 * one entry per line. Blank entries are dropped.
 */
export const parseList = (raw: string): string[] => {
  const text = raw.trim();
  if (text === '') return [];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed))
        return parsed
          .filter((item): item is string => typeof item === 'string')
          .map((item) => item.trim())
          .filter((item) => item !== '');
    } catch {
      // Not JSON after all: read it as lines.
    }
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
};

/** Source paths: `sourcePaths`, else the single legacy `sourcePath`. */
export const sourcePathsOf = (spec: {
  sourcePath: string;
  sourcePaths: string | readonly string[];
}): string[] => {
  const paths =
    typeof spec.sourcePaths === 'string'
      ? parseList(spec.sourcePaths)
      : spec.sourcePaths.map((p) => p.trim()).filter((p) => p !== '');
  return paths.length > 0 ? paths : spec.sourcePath.trim() === '' ? [] : [spec.sourcePath.trim()];
};

/** Database names: split on `,`, `;` or newlines (SPEC §11.8). */
export const databaseNamesOf = (dbName: string): string[] =>
  dbName
    .split(/[,;\r\n]/)
    .map((name) => name.trim())
    .filter((name) => name !== '');

export const connectionOf = (spec: {
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbPassword: string;
  dbName: string;
}): DatabaseConnection => ({
  host: spec.dbHost,
  port: spec.dbPort,
  user: spec.dbUser,
  password: spec.dbPassword,
  databases: databaseNamesOf(spec.dbName),
});

/** The task's compression; anything unknown falls back to zstd, as on the master. */
export const compressionOf = (value: string): Compression =>
  value === 'gzip' || value === 'none' || value === 'zstd' ? value : 'zstd';

const parseObject = (text: string): Record<string, unknown> => {
  try {
    const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
};

export interface TaskSourceSpec {
  name: string;
  type: string;
  sourcePath: string;
  sourcePaths: string;
  excludePatterns: string;
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbPassword: string;
  dbName: string;
  dbPath: string;
  extraConfig: string;
}

/**
 * Opens the source of a task. Always a full archive for file tasks: the spec carries no
 * baseline manifest, so an agent cannot write a differential one.
 */
export const openTaskSource = async (spec: TaskSourceSpec, ctx: SourceContext): Promise<SourceArtifact> => {
  switch (storageTypeLabel(spec.type)) {
    case 'file':
      return backupFiles(ctx, {
        taskName: spec.name,
        sourcePaths: sourcePathsOf(spec),
        excludePatterns: parseList(spec.excludePatterns),
      });
    case 'mysql':
      return backupMysql(ctx, connectionOf(spec), spec.name);
    case 'postgresql':
      return backupPostgresql(ctx, connectionOf(spec), spec.name);
    case 'mongodb':
      return backupMongodb(ctx, connectionOf(spec), spec.name);
    case 'saphana':
      return backupSaphana(ctx, connectionOf(spec), spec.name, parseObject(spec.extraConfig));
    case 'sqlite':
      return backupSqlite(ctx, spec.dbPath, spec.name);
    default:
      throw new Error(`unsupported task type ${spec.type}`);
  }
};

export { parseObject as parseExtraConfig };
