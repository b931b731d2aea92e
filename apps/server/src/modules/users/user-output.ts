import type { Role, UserOutput, UserSummary } from '@backupx/contract';
import type { UserRow } from '../../db/tables.ts';

const jsonArrayLength = (text: string): number => {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.length : 0;
  } catch {
    return 0;
  }
};

const unexpiredDevices = (text: string, nowIso: string): number => {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return 0;
    return parsed.filter(
      (device: { expiresAt?: unknown }) => typeof device.expiresAt === 'string' && device.expiresAt > nowIso,
    ).length;
  } catch {
    return 0;
  }
};

export const parseStringArray = (text: string): string[] => {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
};

/** The API view of a user; no secret or hash ever leaves through it. */
export const toUserOutput = (row: UserRow, nowIso: string): UserOutput => {
  const passkeys =
    row.webAuthnCredentials.trim() === '' || row.webAuthnCredentials.trim() === '[]'
      ? 0
      : Math.max(jsonArrayLength(row.webAuthnCredentials), 1);
  const twoFactorEnabled = row.twoFactorEnabled === 1;
  const emailOtpEnabled = row.emailOtpEnabled === 1;
  const smsOtpEnabled = row.smsOtpEnabled === 1;
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    email: row.email,
    phone: row.phone,
    role: row.role as Role,
    mfaEnabled: twoFactorEnabled || passkeys > 0 || emailOtpEnabled || smsOtpEnabled,
    twoFactorEnabled,
    twoFactorRecoveryCodesRemaining: twoFactorEnabled
      ? parseStringArray(row.twoFactorRecoveryCodeHashes).length
      : 0,
    webAuthnEnabled: passkeys > 0,
    webAuthnCredentialCount: passkeys,
    trustedDeviceCount: unexpiredDevices(row.trustedDevices, nowIso),
    emailOtpEnabled,
    smsOtpEnabled,
  };
};

export const toUserSummary = (row: UserRow, nowIso: string): UserSummary => ({
  ...toUserOutput(row, nowIso),
  disabled: row.disabled === 1,
  createdAt: row.createdAt,
});

/** Columns that wipe every second factor and pending challenge of a user. */
export const clearedSecondFactors = {
  twoFactorEnabled: 0,
  twoFactorSecretCiphertext: '',
  twoFactorRecoveryCodeHashes: '[]',
  webAuthnCredentials: '[]',
  webAuthnChallengeCiphertext: '',
  trustedDevices: '[]',
  emailOtpEnabled: 0,
  smsOtpEnabled: 0,
  outOfBandOtpCiphertext: '',
} as const;
