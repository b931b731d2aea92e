import { z } from 'zod';
import { defineRoute } from './route.ts';
import { roleSchema, timestampSchema } from './common.ts';

const username = z.string().trim().min(3).max(64);
const password = z.string().min(8).max(128);
const currentPassword = z.string().min(1).max(128);
const totpCode = z.string().trim().min(6).max(32);

/** The signed-in user as the API returns it (profile, login, 2FA changes). */
export const userOutputSchema = z.object({
  id: z.number().int(),
  username: z.string(),
  displayName: z.string(),
  email: z.string(),
  phone: z.string(),
  role: roleSchema,
  mfaEnabled: z.boolean(),
  twoFactorEnabled: z.boolean(),
  twoFactorRecoveryCodesRemaining: z.number().int(),
  webAuthnEnabled: z.boolean(),
  webAuthnCredentialCount: z.number().int(),
  trustedDeviceCount: z.number().int(),
  emailOtpEnabled: z.boolean(),
  smsOtpEnabled: z.boolean(),
});
export type UserOutput = z.infer<typeof userOutputSchema>;

export const setupStatusSchema = z.object({ initialized: z.boolean() });

export const setupInputSchema = z.strictObject({
  username,
  password,
  displayName: z.string().trim().min(1).max(128),
});

export const loginInputSchema = z.strictObject({
  username,
  password,
  twoFactorCode: totpCode.optional(),
  // Accepted for wire compatibility with BackupX consoles; passkeys and trusted devices are not offered yet.
  webAuthnAssertion: z.unknown().optional(),
  trustedDeviceToken: z.string().max(128).optional(),
  rememberDevice: z.boolean().optional(),
  trustedDeviceName: z.string().max(512).optional(),
});

export const sessionSchema = z.object({ token: z.string(), user: userOutputSchema });

export const changePasswordInputSchema = z.strictObject({
  oldPassword: currentPassword,
  newPassword: password,
});

export const twoFactorSetupInputSchema = z.strictObject({ currentPassword });
export const twoFactorSetupOutputSchema = z.object({
  secret: z.string(),
  otpAuthUrl: z.string(),
  qrCodeDataUrl: z.string(),
  twoFactorEnabled: z.boolean(),
  twoFactorConfirmed: z.boolean(),
});
export const twoFactorEnableInputSchema = z.strictObject({ code: z.string().trim().min(6).max(10) });
export const twoFactorConfirmInputSchema = z.strictObject({ currentPassword, code: totpCode });
export const recoveryCodesOutputSchema = z.object({
  user: userOutputSchema,
  recoveryCodes: z.array(z.string()),
});

export const authRoutes = {
  setupStatus: defineRoute({
    method: 'GET',
    path: '/api/auth/setup/status',
    access: 'public',
    tag: 'auth',
    summary: 'Whether the first administrator exists',
    response: setupStatusSchema,
  }),
  setup: defineRoute({
    method: 'POST',
    path: '/api/auth/setup',
    access: 'public',
    tag: 'auth',
    summary: 'Create the first administrator (only while no user exists)',
    body: setupInputSchema,
    response: sessionSchema,
  }),
  login: defineRoute({
    method: 'POST',
    path: '/api/auth/login',
    access: 'public',
    tag: 'auth',
    summary: 'Log in with username, password and (if enabled) a TOTP or recovery code',
    body: loginInputSchema,
    response: sessionSchema,
  }),
  logout: defineRoute({
    method: 'POST',
    path: '/api/auth/logout',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'Revoke the current session token',
    response: z.object({ loggedOut: z.literal(true) }),
  }),
  profile: defineRoute({
    method: 'GET',
    path: '/api/auth/profile',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'The signed-in user',
    response: userOutputSchema,
  }),
  changePassword: defineRoute({
    method: 'PUT',
    path: '/api/auth/password',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'Change the password of the signed-in user (other sessions are signed out)',
    body: changePasswordInputSchema,
    response: z.object({ changed: z.literal(true) }),
  }),
  twoFactorSetup: defineRoute({
    method: 'POST',
    path: '/api/auth/2fa/setup',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'Prepare a TOTP secret (not active until confirmed)',
    body: twoFactorSetupInputSchema,
    response: twoFactorSetupOutputSchema,
  }),
  twoFactorEnable: defineRoute({
    method: 'POST',
    path: '/api/auth/2fa/enable',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'Confirm the prepared TOTP secret with a code; returns one-time recovery codes',
    body: twoFactorEnableInputSchema,
    response: recoveryCodesOutputSchema,
  }),
  twoFactorRegenerate: defineRoute({
    method: 'POST',
    path: '/api/auth/2fa/recovery-codes',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'Replace the recovery codes (old ones stop working)',
    body: twoFactorConfirmInputSchema,
    response: recoveryCodesOutputSchema,
  }),
  twoFactorDisable: defineRoute({
    method: 'DELETE',
    path: '/api/auth/2fa',
    access: 'viewer',
    sessionOnly: true,
    tag: 'auth',
    summary: 'Disable TOTP (needs the password and a current code)',
    body: twoFactorConfirmInputSchema,
    response: userOutputSchema,
  }),
} as const;

export { timestampSchema };
