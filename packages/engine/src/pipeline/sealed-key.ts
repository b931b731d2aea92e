import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { EngineError } from '../errors.ts';

/**
 * Sealed data keys for BXENC2 (see docs/engine.md, "Encrypted backups on agents"): an agent
 * encrypts each artifact with a fresh data key and seals that key to the master's X25519 public
 * key, so it can write encrypted backups without ever holding the master's encryption key. The
 * master's private key is derived from its encryption key, so the key alone restores everything.
 *
 *   envelope := version[1] = 1 || ephemeralPublicKey[32] || nonce[12] || AES-256-GCM(dataKey)[32] || tag[16]
 *   wrapping key := HKDF-SHA256(X25519(ephemeral, master), salt = ephemeralPub || masterPub,
 *                               info = "backupx-bxenc2-wrap", 32 bytes)
 */

/** Version byte at the start of every envelope. */
export const SEALED_KEY_ENVELOPE_VERSION = 1;
/** Bytes of an X25519 public key, a data key and a master encryption key. */
export const SEALED_KEY_BYTES = 32;
/** Bytes of a sealed data key envelope: 1 + 32 + 12 + 32 + 16. */
export const SEALED_KEY_ENVELOPE_BYTES = 93;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AGENT_SEAL_INFO = 'backupx-agent-seal-v1';
const WRAP_INFO = 'backupx-bxenc2-wrap';
/** PKCS#8 DER of an X25519 private key, up to the 32 raw bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** SPKI DER of an X25519 public key, up to the 32 raw bytes (RFC 8410). */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const invalidKey = (message: string) => new EngineError('ENCRYPTION_KEY_INVALID', 'encrypt', message);
const envelopeFailure = (message: string, cause?: unknown) =>
  new EngineError(
    'ARTIFACT_DECRYPT_FAILED',
    'encrypt',
    `cannot open the artifact's key envelope: ${message}`,
    {
      cause,
    },
  );

const hkdf = (secret: Buffer, salt: Buffer, info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', secret, salt, info, SEALED_KEY_BYTES));

/** The raw 32 bytes of an X25519 public KeyObject. */
const rawPublicKey = (key: KeyObject): Buffer =>
  key.export({ format: 'der', type: 'spki' }).subarray(-SEALED_KEY_BYTES);

const publicKeyFromRaw = (raw: Buffer): KeyObject =>
  createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });

/** The wrapping key of one envelope; fails on an all-zero shared secret (a low-order point). */
const wrappingKey = (
  privateKey: KeyObject,
  peer: KeyObject,
  ephemeralPublic: Buffer,
  masterPublic: Buffer,
) => {
  const shared = diffieHellman({ privateKey, publicKey: peer });
  if (shared.every((byte) => byte === 0)) throw new Error('X25519 produced an all-zero shared secret');
  return hkdf(shared, Buffer.concat([ephemeralPublic, masterPublic]), WRAP_INFO);
};

/**
 * The master's X25519 key pair for agent backups, derived deterministically from its 32-byte
 * encryption key (HKDF-SHA256, no salt, info `backupx-agent-seal-v1`). The public key (raw 32
 * bytes) is handed to agents; the private key never leaves the master.
 */
export const masterAgentKeyPair = (encryptionKey: Buffer): { publicKey: Buffer; privateKey: KeyObject } => {
  if (encryptionKey.length !== SEALED_KEY_BYTES) throw invalidKey('the encryption key must be 32 bytes');
  const seed = hkdf(encryptionKey, Buffer.alloc(0), AGENT_SEAL_INFO);
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { publicKey: rawPublicKey(createPublicKey(privateKey)), privateKey };
};

/**
 * A fresh random 32-byte data key and its envelope sealed to `masterPublicKey` (raw X25519, 32
 * bytes) with an ephemeral key pair. Only the holder of the master's private key can open it.
 */
export const sealDataKey = (masterPublicKey: Buffer): { dataKey: Buffer; envelope: Buffer } => {
  if (masterPublicKey.length !== SEALED_KEY_BYTES)
    throw invalidKey('the master public key must be 32 bytes (raw X25519)');
  let master: KeyObject;
  try {
    master = publicKeyFromRaw(masterPublicKey);
  } catch (error) {
    throw new EngineError('ENCRYPTION_KEY_INVALID', 'encrypt', 'the master public key is not an X25519 key', {
      cause: error,
    });
  }
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralPublic = rawPublicKey(ephemeral.publicKey);
  let wrapKey: Buffer;
  try {
    wrapKey = wrappingKey(ephemeral.privateKey, master, ephemeralPublic, masterPublicKey);
  } catch (error) {
    throw new EngineError('ENCRYPTION_KEY_INVALID', 'encrypt', 'the master public key is unusable', {
      cause: error,
    });
  }
  const dataKey = randomBytes(SEALED_KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', wrapKey, nonce);
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  const envelope = Buffer.concat([
    Buffer.of(SEALED_KEY_ENVELOPE_VERSION),
    ephemeralPublic,
    nonce,
    wrapped,
    cipher.getAuthTag(),
  ]);
  return { dataKey, envelope };
};

/**
 * Opens an envelope made by `sealDataKey` with the master's private key (from
 * `masterAgentKeyPair`). A wrong key, a bad length or version, or any altered byte fails with
 * `ARTIFACT_DECRYPT_FAILED`: a wrong data key is never returned.
 */
export const openDataKey = (envelope: Buffer, privateKey: KeyObject): Buffer => {
  if (envelope.length !== SEALED_KEY_ENVELOPE_BYTES)
    throw envelopeFailure(`expected ${SEALED_KEY_ENVELOPE_BYTES} bytes, got ${envelope.length}`);
  if (envelope[0] !== SEALED_KEY_ENVELOPE_VERSION)
    throw envelopeFailure(`unknown envelope version ${envelope[0] ?? ''}`);
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'x25519')
    throw invalidKey('the sealed-key private key must be an X25519 private key');
  let offset = 1;
  const ephemeralPublic = envelope.subarray(offset, (offset += SEALED_KEY_BYTES));
  const nonce = envelope.subarray(offset, (offset += NONCE_BYTES));
  const wrapped = envelope.subarray(offset, (offset += SEALED_KEY_BYTES));
  const tag = envelope.subarray(offset, offset + TAG_BYTES);
  try {
    const masterPublic = rawPublicKey(createPublicKey(privateKey));
    const wrapKey = wrappingKey(privateKey, publicKeyFromRaw(ephemeralPublic), ephemeralPublic, masterPublic);
    const decipher = createDecipheriv('aes-256-gcm', wrapKey, nonce);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch (error) {
    throw envelopeFailure('authentication failed (wrong key or corrupted envelope)', error);
  }
};
