import { createDecipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend, readAll } from '@backupx/testkit';
import type { SourceArtifact } from '../sources/types.ts';
import { runBackupPipeline } from './backup-pipeline.ts';
import {
  BXENC2_HEADER_BYTES,
  BXENC2_MAGIC,
  createArtifactDecryptor,
  createBxenc2Encryptor,
  createBxencDecryptor,
  type ArtifactDecryptionKeys,
} from './bxenc.ts';
import type { Compression } from './compression.ts';
import { openArtifact, spoolArtifact } from './restore-pipeline.ts';
import {
  masterAgentKeyPair,
  openDataKey,
  sealDataKey,
  SEALED_KEY_ENVELOPE_BYTES,
  SEALED_KEY_ENVELOPE_VERSION,
} from './sealed-key.ts';

const MiB = 1024 * 1024;
const quiet = () => undefined;
const masterKey = randomBytes(32);
const master = masterAgentKeyPair(masterKey);

const artifactOf = (data: Buffer): SourceArtifact => ({
  fileName: 'web_20260421T020000.tar',
  stream: Readable.from([data]),
  completion: Promise.resolve({ backupKind: 'full' }),
});

const flip = (data: Buffer, index: number): Buffer => {
  const copy = Buffer.from(data);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
};

const seal = async (data: Buffer, publicKey = master.publicKey) => {
  const { stream, envelope } = createBxenc2Encryptor(publicKey);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += 100_000)
    chunks.push(data.subarray(offset, offset + 100_000));
  return { sealed: await readAll(Readable.from(chunks).pipe(stream)), envelope };
};
const unseal = (data: Buffer, keys: ArtifactDecryptionKeys) =>
  readAll(Readable.from([data]).pipe(createArtifactDecryptor(keys)));

/** Runs a BXENC2 backup to a memory backend and returns what `openArtifact` needs. */
const backUp = async (data: Buffer, compression: Compression = 'zstd') => {
  const backend = createMemoryBackend();
  const result = await runBackupPipeline({
    artifact: artifactOf(data),
    compression,
    sealTo: master.publicKey,
    targets: [{ name: 'agent-disk', backend }],
    objectKeyFor: (fileName) => `BackupX/file/260421/records/7/${fileName}`,
    signal: new AbortController().signal,
    log: quiet,
  });
  const stored = { backend, objectKey: result.objectKey, fileName: result.fileName, sha256: result.sha256 };
  return { backend, result, stored };
};

describe('sealed data keys', () => {
  it('derives the master key pair deterministically from the encryption key', () => {
    const again = masterAgentKeyPair(Buffer.from(masterKey));
    expect(again.publicKey.equals(master.publicKey)).toBe(true);
    expect(again.publicKey.length).toBe(32);
    expect(
      again.privateKey
        .export({ format: 'der', type: 'pkcs8' })
        .equals(master.privateKey.export({ format: 'der', type: 'pkcs8' })),
    ).toBe(true);
    expect(masterAgentKeyPair(randomBytes(32)).publicKey.equals(master.publicKey)).toBe(false);
    // The public key matches what node derives from the private key (JWK `x`).
    const jwk = master.privateKey.export({ format: 'jwk' });
    expect(Buffer.from(jwk.x ?? '', 'base64url').equals(master.publicKey)).toBe(true);
    expect(() => masterAgentKeyPair(randomBytes(16))).toThrow(
      expect.objectContaining({ code: 'ENCRYPTION_KEY_INVALID' }),
    );
  });

  it('seals a fresh data key each time and opens it with the private key only', () => {
    const first = sealDataKey(master.publicKey);
    const second = sealDataKey(master.publicKey);
    expect(first.envelope.length).toBe(SEALED_KEY_ENVELOPE_BYTES);
    expect(first.envelope[0]).toBe(SEALED_KEY_ENVELOPE_VERSION);
    expect(first.dataKey.length).toBe(32);
    expect(first.dataKey.equals(second.dataKey)).toBe(false);
    expect(first.envelope.equals(second.envelope)).toBe(false);
    expect(openDataKey(first.envelope, master.privateKey).equals(first.dataKey)).toBe(true);
    expect(openDataKey(second.envelope, master.privateKey).equals(second.dataKey)).toBe(true);
    const stranger = masterAgentKeyPair(randomBytes(32));
    expect(() => openDataKey(first.envelope, stranger.privateKey)).toThrow(
      expect.objectContaining({ code: 'ARTIFACT_DECRYPT_FAILED' }),
    );
  });

  it('pins the envelope layout: version, ephemeral key, nonce, wrapped key, tag', async () => {
    const { dataKey, envelope } = sealDataKey(master.publicKey);
    // An independent unwrap following docs/engine.md.
    const { diffieHellman, createPublicKey, hkdfSync } = await import('node:crypto');
    const ephemeralPublic = envelope.subarray(1, 33);
    const spki = Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), ephemeralPublic]);
    const shared = diffieHellman({
      privateKey: master.privateKey,
      publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
    });
    const wrapKey = Buffer.from(
      hkdfSync(
        'sha256',
        shared,
        Buffer.concat([ephemeralPublic, master.publicKey]),
        'backupx-bxenc2-wrap',
        32,
      ),
    );
    const decipher = createDecipheriv('aes-256-gcm', wrapKey, envelope.subarray(33, 45));
    decipher.setAuthTag(envelope.subarray(77, 93));
    expect(
      Buffer.concat([decipher.update(envelope.subarray(45, 77)), decipher.final()]).equals(dataKey),
    ).toBe(true);
  });

  it('refuses every altered byte, a bad length, a bad version and a non-X25519 key', () => {
    const { envelope } = sealDataKey(master.publicKey);
    for (let index = 0; index < envelope.length; index += 1)
      expect(() => openDataKey(flip(envelope, index), master.privateKey)).toThrow(
        expect.objectContaining({ code: 'ARTIFACT_DECRYPT_FAILED' }),
      );
    expect(() => openDataKey(envelope.subarray(0, 92), master.privateKey)).toThrow(/expected 93 bytes/);
    expect(() => openDataKey(Buffer.concat([envelope, Buffer.of(0)]), master.privateKey)).toThrow(
      /expected 93 bytes/,
    );
    const ed25519 = generateKeyPairSync('ed25519').privateKey;
    expect(() => openDataKey(envelope, ed25519)).toThrow(
      expect.objectContaining({ code: 'ENCRYPTION_KEY_INVALID' }),
    );
    expect(() => sealDataKey(randomBytes(31))).toThrow(
      expect.objectContaining({ code: 'ENCRYPTION_KEY_INVALID' }),
    );
  });
});

describe('BXENC2 file cipher', () => {
  it.each([0, 1, MiB, 2 * MiB + 17])(
    'round-trips %i bytes with the private key and with the data key',
    async (size) => {
      const data = randomBytes(size);
      const { sealed, envelope } = await seal(data);
      expect(sealed.subarray(0, 6).equals(BXENC2_MAGIC)).toBe(true);
      expect(sealed.subarray(6, BXENC2_HEADER_BYTES).equals(envelope)).toBe(true);
      expect((await unseal(sealed, { sealedPrivateKey: master.privateKey })).equals(data)).toBe(true);
      const dataKey = openDataKey(envelope, master.privateKey);
      expect((await unseal(sealed, { dataKey })).equals(data)).toBe(true);
      // The frames are BXENC1 frames under the data key.
      if (size > 0) {
        const length = sealed.readUInt32BE(BXENC2_HEADER_BYTES + 12);
        const decipher = createDecipheriv(
          'aes-256-gcm',
          dataKey,
          sealed.subarray(BXENC2_HEADER_BYTES, BXENC2_HEADER_BYTES + 12),
        );
        const body = sealed.subarray(BXENC2_HEADER_BYTES + 16, BXENC2_HEADER_BYTES + 16 + length);
        decipher.setAuthTag(body.subarray(length - 16));
        const plain = Buffer.concat([decipher.update(body.subarray(0, length - 16)), decipher.final()]);
        expect(plain.equals(data.subarray(0, MiB))).toBe(true);
      }
    },
  );

  it('fails on a wrong private key, a wrong data key, and any tampering or truncation', async () => {
    const { sealed } = await seal(randomBytes(2 * MiB));
    const stranger = masterAgentKeyPair(randomBytes(32));
    const failed = { code: 'ARTIFACT_DECRYPT_FAILED' };
    await expect(unseal(sealed, { sealedPrivateKey: stranger.privateKey })).rejects.toMatchObject(failed);
    await expect(unseal(sealed, { dataKey: randomBytes(32) })).rejects.toMatchObject(failed);
    // A flipped byte in the envelope (the wrapped key), in the first frame, in the last frame.
    await expect(unseal(flip(sealed, 6 + 50), { sealedPrivateKey: master.privateKey })).rejects.toMatchObject(
      failed,
    );
    await expect(unseal(flip(sealed, 6), { sealedPrivateKey: master.privateKey })).rejects.toMatchObject(
      failed,
    );
    await expect(
      unseal(flip(sealed, BXENC2_HEADER_BYTES + 100), { sealedPrivateKey: master.privateKey }),
    ).rejects.toMatchObject(failed);
    await expect(
      unseal(flip(sealed, sealed.length - 1), { sealedPrivateKey: master.privateKey }),
    ).rejects.toMatchObject(failed);
    // Truncated in the last frame, right after a frame, in the envelope, in the magic.
    for (const length of [sealed.length - 10, BXENC2_HEADER_BYTES + 16 + MiB + 16 + 5, 50, 4])
      await expect(
        unseal(sealed.subarray(0, length), { sealedPrivateKey: master.privateKey }),
      ).rejects.toMatchObject(failed);
  });

  it('emits nothing before the frame is authenticated', async () => {
    const { sealed } = await seal(randomBytes(1000));
    const received: Buffer[] = [];
    const decryptor = createArtifactDecryptor({ sealedPrivateKey: master.privateKey });
    decryptor.on('data', (chunk: Buffer) => received.push(chunk));
    await expect(
      readAll(Readable.from([flip(sealed, sealed.length - 20)]).pipe(decryptor)),
    ).rejects.toBeTruthy();
    expect(received).toEqual([]);
  });

  it('asks for the right key: BXENC2 is not opened with the BXENC1 key, nor BXENC1 with a data key', async () => {
    const { sealed } = await seal(randomBytes(100));
    await expect(unseal(sealed, { decryptionKey: masterKey })).rejects.toMatchObject({
      code: 'ARTIFACT_KEY_MISSING',
      message: expect.stringMatching(/BXENC2.*sealedPrivateKey.*data key/) as unknown,
    });
    await expect(
      readAll(Readable.from([sealed]).pipe(createBxencDecryptor(masterKey))),
    ).rejects.toMatchObject({
      code: 'ARTIFACT_KEY_MISSING',
    });
    const { createBxencEncryptor } = await import('./bxenc.ts');
    const bxenc1 = await readAll(Readable.from([Buffer.from('hello')]).pipe(createBxencEncryptor(masterKey)));
    await expect(unseal(bxenc1, { dataKey: randomBytes(32) })).rejects.toMatchObject({
      code: 'ARTIFACT_KEY_MISSING',
      message: expect.stringContaining('BXENC1') as unknown,
    });
    // One decryptor given every key reads both formats.
    const all = { decryptionKey: masterKey, sealedPrivateKey: master.privateKey };
    expect((await unseal(bxenc1, all)).toString()).toBe('hello');
    expect((await unseal(sealed, all)).length).toBe(100);
  });
});

describe('BXENC2 through the pipeline', () => {
  it.each(['zstd', 'gzip', 'none'] as const)(
    'an agent backup (%s) reads back with the private key and with the data key',
    async (compression) => {
      const data = Buffer.concat([randomBytes(MiB), Buffer.alloc(3 * MiB, 'compressible ')]);
      const { backend, result, stored } = await backUp(data, compression);
      expect(result.fileName).toMatch(/\.enc$/);
      expect(result.keyEnvelope).toBeDefined();
      const envelope = Buffer.from(result.keyEnvelope ?? '', 'base64');
      expect(envelope.length).toBe(SEALED_KEY_ENVELOPE_BYTES);
      const object = backend.objects.get(result.objectKey)?.data ?? Buffer.alloc(0);
      expect(object.subarray(0, 6).equals(BXENC2_MAGIC)).toBe(true);
      expect(object.subarray(6, BXENC2_HEADER_BYTES).equals(envelope)).toBe(true);

      const withPrivateKey = await openArtifact(stored, { sealedPrivateKey: master.privateKey });
      expect((await readAll(withPrivateKey.stream)).equals(data)).toBe(true);
      // What the master hands an agent for one restore: this artifact's data key, nothing else.
      const dataKey = openDataKey(envelope, master.privateKey);
      const withDataKey = await openArtifact(stored, { dataKey });
      expect((await readAll(withDataKey.stream)).equals(data)).toBe(true);
    },
  );

  it('refuses a wrong private key, the BXENC1 key alone, and no key at all', async () => {
    const { stored } = await backUp(randomBytes(MiB), 'none');
    const wrong = await openArtifact(stored, {
      sealedPrivateKey: masterAgentKeyPair(randomBytes(32)).privateKey,
    });
    await expect(readAll(wrong.stream)).rejects.toMatchObject({ code: 'ARTIFACT_DECRYPT_FAILED' });
    const bxenc1Only = await openArtifact(stored, { decryptionKey: masterKey });
    await expect(readAll(bxenc1Only.stream)).rejects.toMatchObject({
      code: 'ARTIFACT_KEY_MISSING',
      message: expect.stringContaining('BXENC2') as unknown,
    });
    await expect(openArtifact(stored)).rejects.toMatchObject({ code: 'ARTIFACT_KEY_MISSING' });
  });

  it('spools an agent backup with the master key pair, leaving nothing on failure', async () => {
    const { mkdtemp, readFile, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const directory = await mkdtemp(path.join(tmpdir(), 'bxenc2-'));
    try {
      const data = randomBytes(MiB + 3);
      const { stored, backend, result } = await backUp(data);
      const file = await spoolArtifact(stored, directory, { sealedPrivateKey: master.privateKey });
      expect((await readFile(file)).equals(data)).toBe(true);
      await rm(file);
      const object = backend.objects.get(result.objectKey);
      if (!object) throw new Error('missing');
      object.data = flip(object.data, 6 + 40);
      await expect(
        spoolArtifact({ ...stored, sha256: '' }, directory, { sealedPrivateKey: master.privateKey }),
      ).rejects.toMatchObject({ code: 'ARTIFACT_DECRYPT_FAILED' });
      expect(await readdir(directory)).toEqual([]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('refuses encryptionKey together with sealTo before writing anything', async () => {
    const backend = createMemoryBackend();
    await expect(
      runBackupPipeline({
        artifact: artifactOf(randomBytes(100)),
        compression: 'zstd',
        encryptionKey: masterKey,
        sealTo: master.publicKey,
        targets: [{ name: 'disk', backend }],
        objectKeyFor: (fileName) => fileName,
        signal: new AbortController().signal,
        log: quiet,
      }),
    ).rejects.toMatchObject({
      code: 'ENCRYPTION_KEY_INVALID',
      message: expect.stringContaining('exclusive') as unknown,
    });
    expect(backend.objects.size).toBe(0);
  });

  it('leaves BXENC1 backups without an envelope', async () => {
    const backend = createMemoryBackend();
    const result = await runBackupPipeline({
      artifact: artifactOf(randomBytes(100)),
      compression: 'none',
      encryptionKey: masterKey,
      targets: [{ name: 'disk', backend }],
      objectKeyFor: (fileName) => fileName,
      signal: new AbortController().signal,
      log: quiet,
    });
    expect(result.keyEnvelope).toBeUndefined();
    expect(backend.objects.get(result.objectKey)?.data.subarray(0, 6).toString()).toBe('BXENC1');
  });
});
