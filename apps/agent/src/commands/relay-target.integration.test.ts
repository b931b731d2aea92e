import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMasterClient, type MasterClient } from '../master-client.ts';
import { startFakeMaster, type FakeMaster } from '../testing/fake-master.ts';
import { createRelaySource, createRelayTarget, spoolToFile } from './relay-target.ts';

const TOKEN = 'e'.repeat(64);
let dir: string;
let master: FakeMaster;
let client: MasterClient;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bx-agent-relay-'));
  master = await startFakeMaster({ token: TOKEN });
  client = createMasterClient({
    master: master.url,
    token: TOKEN,
    dispatcher: new Agent(),
    userAgent: 'test',
  });
});
afterEach(async () => {
  await client.close();
  await master.close();
  await rm(dir, { recursive: true, force: true });
});

const chunks = (data: Buffer, size: number): Readable =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)),
  );

describe('master-relay target', () => {
  it('spools while counting and hashing', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const result = await spoolToFile(chunks(data, 65_536), path.join(dir, 'spool'));
    expect(result.sizeBytes).toBe(data.length);
    expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('removes a partial spool when the stream fails', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(spoolToFile(failing, path.join(dir, 'spool'))).rejects.toThrow('source broke');
    expect(await readdir(dir)).toEqual([]);
  });

  it('uploads with Content-Length, object key and SHA-256, and can read its copy back', async () => {
    const data = randomBytes(200_000);
    const target = createRelayTarget({ client, recordId: 41, targetId: 3, spoolDir: dir });
    const key = 'BackupX/file/260102/records/41/web_20260102T000000.tar.zst';
    const put = await target.put(key, chunks(data, 10_000));
    expect(put.sizeBytes).toBe(data.length);
    expect(master.uploads).toHaveLength(1);
    const [upload] = master.uploads;
    expect(upload).toMatchObject({
      recordId: 41,
      targetId: 3,
      objectKey: key,
      contentLength: data.length,
      sha256Header: createHash('sha256').update(data).digest('hex'),
    });
    expect(upload?.body.equals(data)).toBe(true);
    // The pipeline may copy from this target to repair another one.
    const readBack = await target.get(key);
    expect(
      Buffer.from(await readBack.toArray().then((parts) => Buffer.concat(parts as Buffer[]))).equals(data),
    ).toBe(true);
    await target.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('retries an upload the master could not take (a restart) from the spool', async () => {
    let refusals = 1;
    master.override = (method) => {
      if (method !== 'PUT' || refusals === 0) return null;
      refusals -= 1;
      return { status: 503, body: { code: 'SERVICE_UNAVAILABLE', message: 'restarting' } };
    };
    const target = createRelayTarget({ client, recordId: 5, targetId: 1, spoolDir: dir, retryDelayMs: 10 });
    await target.put('BackupX/file/260102/records/5/a.tar', Readable.from([Buffer.from('payload')]));
    expect(master.uploads.map((u) => u.body.toString())).toEqual(['payload']);
    await target.close();
  });

  it('does not retry a refusal and leaves no spool behind', async () => {
    master.override = (method) =>
      method === 'PUT'
        ? { status: 400, body: { code: 'AGENT_ARTIFACT_INVALID_PATH', message: 'outside the namespace' } }
        : null;
    const target = createRelayTarget({ client, recordId: 5, targetId: 1, spoolDir: dir, retryDelayMs: 10 });
    await expect(target.put('elsewhere/a.tar', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
      code: 'AGENT_ARTIFACT_INVALID_PATH',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads a relayed artifact for a restore', async () => {
    master.restoreArtifacts.set(8, Buffer.from('the artifact'));
    const source = createRelaySource(client, 8);
    expect(await text(await source.get('ignored'))).toBe('the artifact');
  });
});
