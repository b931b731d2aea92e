import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError } from '../errors.ts';
import type { StorageBackend } from '../storage/types.ts';
import { createArtifactDecryptor, hasDecryptionKey, type ArtifactDecryptionKeys } from './bxenc.ts';
import { createDecompressor, layersFromFileName } from './compression.ts';
import { createChecksumVerifier } from './digest.ts';
import { createThrottle, parseBandwidthLimit } from './throttle.ts';

export interface StoredArtifact {
  backend: StorageBackend;
  objectKey: string;
  /** Stored file name; its suffixes say how to read it (`.enc`, `.gz`, `.zst`). */
  fileName: string;
  /** Expected SHA-256 of the stored object; empty skips the check (legacy records). */
  sha256: string;
}

/**
 * How to read an artifact back. Of the keys, the artifact's magic decides which one is needed:
 * `decryptionKey` for BXENC1 (the master's key), `sealedPrivateKey` or `dataKey` for BXENC2
 * (written by an agent). Giving several is fine; a missing one fails with `ARTIFACT_KEY_MISSING`.
 */
export interface OpenArtifactOptions extends ArtifactDecryptionKeys {
  signal?: AbortSignal;
  /** rclone `--bwlimit` syntax (see `parseBandwidthLimit`): the download side limits the read. */
  bandwidthLimit?: string;
}

/**
 * Streams the raw artifact back: download (→ throttle) → checksum check → decrypt → decompress. Decryption is
 * authenticated per 1 MiB frame and zstd frames carry checksums, so corruption usually fails
 * early; the whole-object SHA-256 fails at the end at the latest. Consumers must commit nothing
 * until the stream has ended without error (file restore stages; database restore spools first).
 */
export const openArtifact = async (
  artifact: StoredArtifact,
  options: OpenArtifactOptions = {},
): Promise<{ stream: Readable; artifactName: string }> => {
  const layers = layersFromFileName(artifact.fileName);
  const downloadBytesPerSecond =
    options.bandwidthLimit === undefined
      ? 0
      : parseBandwidthLimit(options.bandwidthLimit).downloadBytesPerSecond;
  if (layers.encrypted && !hasDecryptionKey(options)) {
    throw new EngineError(
      'ARTIFACT_KEY_MISSING',
      'encrypt',
      `${artifact.fileName} is encrypted and no key was given`,
    );
  }
  // Built before the download starts: a malformed key throws here without leaving a stream open.
  const chain: NodeJS.ReadWriteStream[] = [];
  if (layers.encrypted) chain.push(createArtifactDecryptor(options));
  chain.push(createDecompressor(layers.compression));
  chain.unshift(createChecksumVerifier(artifact.sha256));
  if (downloadBytesPerSecond > 0) chain.unshift(createThrottle(downloadBytesPerSecond));
  let downloaded: Readable;
  try {
    downloaded = await artifact.backend.get(
      artifact.objectKey,
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    for (const stage of chain) (stage as unknown as Readable).destroy();
    throw error;
  }
  let stream: Readable = downloaded;
  for (const stage of chain) {
    const previous = stream;
    stream = previous.pipe(stage) as unknown as Readable;
    previous.on('error', (error) => stream.destroy(error));
  }
  return { stream, artifactName: layers.artifactName };
};

/**
 * Writes the verified raw artifact to `directory` and returns its path. For restores that must
 * not start before the artifact is known to be good (database imports).
 */
export const spoolArtifact = async (
  artifact: StoredArtifact,
  directory: string,
  options: OpenArtifactOptions = {},
): Promise<string> => {
  const { stream, artifactName } = await openArtifact(artifact, options);
  const target = path.join(directory, path.basename(artifactName));
  try {
    await pipeline(
      stream,
      createWriteStream(target, { mode: 0o600 }),
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    await rm(target, { force: true });
    throw error;
  }
  return target;
};
