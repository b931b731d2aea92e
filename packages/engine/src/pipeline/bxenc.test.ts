import { createDecipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readAll } from '@backupx/testkit';
import { BXENC_MAGIC, createBxencDecryptor, createBxencEncryptor } from './bxenc.ts';

const key = randomBytes(32);
const MiB = 1024 * 1024;

const encrypt = (data: Buffer, chunkBytes = 64 * 1024) => {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkBytes)
    chunks.push(data.subarray(offset, offset + chunkBytes));
  return readAll(Readable.from(chunks).pipe(createBxencEncryptor(key)));
};
const decrypt = (data: Buffer, withKey = key) =>
  readAll(Readable.from([data]).pipe(createBxencDecryptor(withKey)));

/** An independent reader of the BXENC1 layout (SPEC §3.7), to pin the format byte for byte. */
const parseFrames = (file: Buffer, withKey: Buffer): { plaintext: Buffer; frameSizes: number[] } => {
  expect(file.subarray(0, 6).toString('ascii')).toBe('BXENC1');
  let offset = 6;
  const parts: Buffer[] = [];
  const frameSizes: number[] = [];
  while (offset < file.length) {
    const nonce = file.subarray(offset, offset + 12);
    const length = file.readUInt32BE(offset + 12);
    const body = file.subarray(offset + 16, offset + 16 + length);
    const decipher = createDecipheriv('aes-256-gcm', withKey, nonce);
    decipher.setAuthTag(body.subarray(length - 16));
    const plain = Buffer.concat([decipher.update(body.subarray(0, length - 16)), decipher.final()]);
    parts.push(plain);
    frameSizes.push(plain.length);
    offset += 16 + length;
  }
  return { plaintext: Buffer.concat(parts), frameSizes };
};

describe('BXENC1 file cipher', () => {
  it.each([0, 1, 1000, MiB - 1, MiB, MiB + 1, 3 * MiB + 12345])(
    'round-trips %i bytes in ≤1 MiB frames',
    async (size) => {
      const data = randomBytes(size);
      const sealed = await encrypt(data);
      expect((await decrypt(sealed)).equals(data)).toBe(true);
      const { plaintext, frameSizes } = parseFrames(sealed, key);
      expect(plaintext.equals(data)).toBe(true);
      expect(frameSizes.every((frame) => frame > 0 && frame <= MiB)).toBe(true);
      expect(frameSizes.slice(0, -1).every((frame) => frame === MiB)).toBe(true);
    },
  );

  it('writes the magic even for an empty input, and nothing else', async () => {
    expect((await encrypt(Buffer.alloc(0))).equals(BXENC_MAGIC)).toBe(true);
  });

  it('reads a file written frame by frame the way BackupX writes it', async () => {
    const { createCipheriv } = await import('node:crypto');
    const data = randomBytes(MiB + 500);
    const frames = [data.subarray(0, MiB), data.subarray(MiB)].map((plain) => {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length);
      return Buffer.concat([nonce, length, body]);
    });
    expect((await decrypt(Buffer.concat([BXENC_MAGIC, ...frames]))).equals(data)).toBe(true);
  });

  it('refuses a flipped byte, a wrong key, a bad magic and a truncated file', async () => {
    const sealed = await encrypt(randomBytes(2 * MiB));
    const flipped = Buffer.from(sealed);
    flipped[sealed.length - 100] = (flipped[sealed.length - 100] ?? 0) ^ 0x01;
    await expect(decrypt(flipped)).rejects.toMatchObject({ code: 'ARTIFACT_DECRYPT_FAILED' });
    await expect(decrypt(sealed, randomBytes(32))).rejects.toMatchObject({ code: 'ARTIFACT_DECRYPT_FAILED' });
    const badMagic = Buffer.from(sealed);
    badMagic[0] = 0x41;
    await expect(decrypt(badMagic)).rejects.toMatchObject({ code: 'ARTIFACT_DECRYPT_FAILED' });
    await expect(decrypt(sealed.subarray(0, sealed.length - 10))).rejects.toMatchObject({
      code: 'ARTIFACT_DECRYPT_FAILED',
    });
    await expect(decrypt(Buffer.from('BXE'))).rejects.toMatchObject({ code: 'ARTIFACT_DECRYPT_FAILED' });
  });

  it('emits nothing from a frame that fails authentication', async () => {
    const sealed = await encrypt(randomBytes(100));
    const flipped = Buffer.from(sealed);
    flipped[30] = (flipped[30] ?? 0) ^ 0xff;
    const received: Buffer[] = [];
    const decryptor = createBxencDecryptor(key);
    decryptor.on('data', (chunk: Buffer) => received.push(chunk));
    await expect(readAll(Readable.from([flipped]).pipe(decryptor))).rejects.toBeTruthy();
    expect(received).toEqual([]);
  });
});
