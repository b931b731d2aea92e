/**
 * MongoDB source (SPEC §3.18): `mongodump … --archive` streamed as the artifact (all databases
 * unless exactly one name is given; empty output is an error); restore with
 * `mongorestore … --drop --archive` on stdin. mongodump has no environment variable for the
 * password, so it is on the command line as in the original; it is masked in every log line.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { EngineError } from '../errors.ts';
import { sanitizeTaskNameB, underscoreTimestamp } from '../naming.ts';
import { requireExecutable, runToolToEnd, startTool } from './process.ts';
import type { DatabaseConnection, SourceArtifact, SourceContext } from './types.ts';

const DEBIAN_PACKAGE = 'mongodb-database-tools';

/** `<sanitizeB(name)>_<YYYYMMDD_HHMMSS>.archive` */
export const mongoArtifactName = (taskName: string, startedAt: Date): string =>
  `${sanitizeTaskNameB(taskName)}_${underscoreTimestamp(startedAt)}.archive`;

/** Connection arguments shared by mongodump and mongorestore. */
export const mongoConnectionArgs = (conn: DatabaseConnection): string[] => {
  const args: string[] = [];
  if (conn.host.trim() !== '') args.push('--host', conn.host.trim());
  if (conn.port > 0) args.push('--port', String(conn.port));
  if (conn.user.trim() !== '') args.push('--username', conn.user.trim(), '--authenticationDatabase', 'admin');
  if (conn.password !== '') args.push('--password', conn.password);
  return args;
};

export const mongodumpArgs = (conn: DatabaseConnection): string[] => {
  const names = conn.databases.map((name) => name.trim()).filter((name) => name !== '');
  const args = mongoConnectionArgs(conn);
  if (names.length === 1 && names[0] !== undefined) args.push('--db', names[0]);
  args.push('--archive');
  return args;
};

export const mongorestoreArgs = (conn: DatabaseConnection): string[] => [
  ...mongoConnectionArgs(conn),
  '--drop',
  '--archive',
];

/** Counts bytes passing through. */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

export const backupMongodb = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  taskName: string,
): Promise<SourceArtifact> => {
  const command = await requireExecutable(ctx, ['mongodump'], DEBIAN_PACKAGE);
  const args = mongodumpArgs(conn);
  const scope = args.includes('--db')
    ? `database ${String(args[args.indexOf('--db') + 1])}`
    : 'all databases';
  ctx.log('info', `dumping MongoDB ${scope} from ${conn.host}:${String(conn.port)}`);
  const run = startTool(ctx, {
    command,
    label: 'mongodump',
    args,
    redact: [conn.password],
    debianPackage: DEBIAN_PACKAGE,
    stage: 'source',
  });
  const counter = new ByteCounter();
  run.stdout.pipe(counter);
  run.stdout.once('error', (error) => counter.destroy(error));
  const ended = new Promise<void>((resolve) => {
    counter.once('end', resolve);
    counter.once('close', resolve);
  });
  const completion = Promise.all([run.done, ended]).then(() => {
    if (counter.bytes === 0)
      throw new EngineError('SOURCE_EMPTY_OUTPUT', 'source', 'mongodump produced no output (empty archive)');
    return { backupKind: 'full' as const, summary: `mongodump archive, ${String(counter.bytes)} bytes` };
  });
  completion.catch(() => undefined);
  return { fileName: mongoArtifactName(taskName, ctx.now), stream: counter, completion };
};

export const restoreMongodb = async (
  ctx: SourceContext,
  conn: DatabaseConnection,
  archive: Readable,
): Promise<void> => {
  const command = await requireExecutable(ctx, ['mongorestore'], DEBIAN_PACKAGE, 'restore');
  ctx.log('info', `restoring MongoDB archive into ${conn.host}:${String(conn.port)} (--drop)`);
  await runToolToEnd(ctx, {
    command,
    label: 'mongorestore',
    args: mongorestoreArgs(conn),
    redact: [conn.password],
    stdin: archive,
    debianPackage: DEBIAN_PACKAGE,
    stage: 'restore',
  });
};
