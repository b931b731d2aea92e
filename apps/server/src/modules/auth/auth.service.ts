import QRCode from 'qrcode';
import type { Role, UserOutput } from '@backupx/contract';
import { z } from 'zod';
import { AppError } from '../../lib/errors.ts';
import { addMs, toIso, type Clock } from '../../lib/clock.ts';
import { randomBase64Url, type SecretBox } from '../../lib/crypto.ts';
import type { NewUserRow, UserRow } from '../../db/tables.ts';
import type { UsersRepository } from '../users/users.repository.ts';
import { parseStringArray, toUserOutput } from '../users/user-output.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { ApiKeysService } from '../api-keys/api-keys.service.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { signJwt, verifyJwt } from './jwt.ts';
import { generateTotpSecret, matchTotp, otpAuthUrl } from './totp.ts';
import { findRecoveryCode, generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.ts';
import type { SessionsRepository } from './sessions.repository.ts';
import type { RateLimitRepository } from './rate-limit.repository.ts';
import type { Actor, Principal } from './principal.ts';

/** Login throttle: 5 attempts per client IP per minute (SPEC §12.3). */
export const LOGIN_ATTEMPTS_PER_WINDOW = 5;
export const LOGIN_WINDOW_MS = 60_000;

export interface AuthServiceDeps {
  usersRepository: UsersRepository;
  sessionsRepository: SessionsRepository;
  rateLimitRepository: RateLimitRepository;
  apiKeys: Pick<ApiKeysService, 'authenticate'>;
  audit: Pick<AuditService, 'record'>;
  secretBox: SecretBox;
  /** Key for recovery-code HMACs. */
  recoveryCodeKey: Buffer;
  jwtSecret: string;
  jwtTtlMs: number;
  clock: Clock;
}

export interface LoginInput {
  username: string;
  password: string;
  twoFactorCode?: string | undefined;
}

export interface RequestOrigin {
  clientIp: string;
  userAgent: string;
}

export type AuthService = ReturnType<typeof createAuthService>;

const pendingSecretSchema = z.object({ secret: z.string(), confirmed: z.boolean() });

export const createAuthService = (deps: AuthServiceDeps) => {
  const { usersRepository, sessionsRepository, rateLimitRepository, audit, secretBox, clock } = deps;
  const nowIso = () => toIso(clock.now());
  const output = (row: UserRow): UserOutput => toUserOutput(row, nowIso());
  const actorFor = (row: UserRow, clientIp: string): Actor => ({
    userId: row.id,
    username: row.username,
    clientIp,
  });

  const readTotpSecret = (row: UserRow): { secret: string; confirmed: boolean } | null => {
    if (row.twoFactorSecretCiphertext === '') return null;
    try {
      return pendingSecretSchema.parse(JSON.parse(secretBox.open(row.twoFactorSecretCiphertext)));
    } catch {
      return null;
    }
  };

  const issueSession = async (row: UserRow, origin: RequestOrigin): Promise<string> => {
    const now = clock.now();
    const expires = addMs(now, deps.jwtTtlMs);
    const sessionId = randomBase64Url(24);
    await sessionsRepository.insert({
      id: sessionId,
      userId: row.id,
      createdAt: toIso(now),
      expiresAt: toIso(expires),
      revokedAt: null,
      clientIp: origin.clientIp.slice(0, 45),
      userAgent: origin.userAgent.slice(0, 256),
    });
    return signJwt(deps.jwtSecret, {
      sub: String(row.id),
      username: row.username,
      role: row.role,
      jti: sessionId,
      iat: Math.floor(now.getTime() / 1000),
      exp: Math.floor(expires.getTime() / 1000),
    });
  };

  const requireUser = async (userId: number): Promise<UserRow> => {
    const row = await usersRepository.findById(userId);
    if (!row) throw new AppError('AUTH_INVALID_TOKEN', 'The account no longer exists');
    return row;
  };

  const requirePassword = async (row: UserRow, password: string): Promise<void> => {
    if (!(await verifyPassword(password, row.passwordHash)))
      throw new AppError('AUTH_WRONG_PASSWORD', 'The current password is wrong');
  };

  /** Checks a TOTP code (consuming its time step) and returns the updated step, or null. */
  const checkTotp = (row: UserRow, code: string): number | null => {
    const stored = readTotpSecret(row);
    if (stored === null || !stored.confirmed) return null;
    return matchTotp(stored.secret, code, clock.now().getTime(), row.twoFactorLastStep);
  };

  const newRecoveryCodes = (): { codes: string[]; hashes: string } => {
    const codes = generateRecoveryCodes();
    return {
      codes,
      hashes: JSON.stringify(codes.map((code) => hashRecoveryCode(deps.recoveryCodeKey, code))),
    };
  };

  return {
    async setupStatus(): Promise<{ initialized: boolean }> {
      return { initialized: (await usersRepository.count()) > 0 };
    },

    async setup(input: { username: string; password: string; displayName: string }, origin: RequestOrigin) {
      if ((await usersRepository.count()) > 0)
        throw new AppError('AUTH_SETUP_DISABLED', 'The first administrator already exists');
      const now = nowIso();
      const row: NewUserRow = {
        username: input.username,
        passwordHash: await hashPassword(input.password),
        displayName: input.displayName,
        email: '',
        phone: '',
        role: 'admin',
        disabled: 0,
        twoFactorEnabled: 0,
        twoFactorSecretCiphertext: '',
        twoFactorRecoveryCodeHashes: '[]',
        twoFactorLastStep: 0,
        webAuthnCredentials: '[]',
        webAuthnChallengeCiphertext: '',
        trustedDevices: '[]',
        emailOtpEnabled: 0,
        smsOtpEnabled: 0,
        outOfBandOtpCiphertext: '',
        createdAt: now,
        updatedAt: now,
      };
      const created = await usersRepository.insertFirst(row);
      if (!created) throw new AppError('AUTH_SETUP_DISABLED', 'The first administrator already exists');
      await audit.record(actorFor(created, origin.clientIp), {
        category: 'auth',
        action: 'setup',
        targetType: 'user',
        targetId: created.id,
        targetName: created.username,
        detail: `Created the first administrator ${created.username}`,
      });
      return { token: await issueSession(created, origin), user: output(created) };
    },

    async login(input: LoginInput, origin: RequestOrigin) {
      const throttleKey = `login:${origin.clientIp}`;
      const now = clock.now();
      const attempts = await rateLimitRepository.hit(
        throttleKey,
        toIso(now),
        toIso(addMs(now, -LOGIN_WINDOW_MS)),
      );
      if (attempts > LOGIN_ATTEMPTS_PER_WINDOW) {
        throw new AppError('AUTH_RATE_LIMITED', 'Too many login attempts; try again in a minute');
      }
      const failedActor: Actor = {
        userId: 0,
        username: input.username.slice(0, 64),
        clientIp: origin.clientIp,
      };
      const row = await usersRepository.findByUsername(input.username);
      const passwordOk = await verifyPassword(input.password, row?.passwordHash ?? null);
      if (!row || !passwordOk) {
        await audit.record(row ? actorFor(row, origin.clientIp) : failedActor, {
          category: 'auth',
          action: 'login_failed',
          targetType: 'user',
          targetName: input.username.slice(0, 128),
          detail: 'Wrong username or password',
        });
        throw new AppError('AUTH_INVALID_CREDENTIALS', 'Wrong username or password');
      }
      if (row.disabled === 1) {
        await audit.record(actorFor(row, origin.clientIp), {
          category: 'auth',
          action: 'login_rejected',
          targetType: 'user',
          targetId: row.id,
          targetName: row.username,
          detail: 'Login refused: the account is disabled',
        });
        throw new AppError('AUTH_USER_DISABLED', 'This account is disabled');
      }
      let current = row;
      if (output(row).mfaEnabled) {
        const code = input.twoFactorCode?.trim() ?? '';
        if (code === '') {
          await audit.record(actorFor(row, origin.clientIp), {
            category: 'auth',
            action: 'two_factor_required',
            targetType: 'user',
            targetId: row.id,
            targetName: row.username,
            detail: 'Password accepted; a second factor is required',
          });
          throw new AppError(
            'AUTH_2FA_REQUIRED',
            'Enter the code from your authenticator app or a recovery code',
          );
        }
        const step = checkTotp(row, code);
        // The conditional update makes a code single-use even when two logins race with it.
        if (step !== null && (await usersRepository.advanceTotpStep(row.id, step))) {
          current = (await usersRepository.findById(row.id)) ?? row;
        } else {
          const hashes = parseStringArray(row.twoFactorRecoveryCodeHashes);
          const index =
            row.twoFactorEnabled === 1 ? await findRecoveryCode(deps.recoveryCodeKey, hashes, code) : -1;
          if (index < 0) {
            await audit.record(actorFor(row, origin.clientIp), {
              category: 'auth',
              action: 'login_failed',
              targetType: 'user',
              targetId: row.id,
              targetName: row.username,
              detail: 'Wrong second-factor code',
            });
            throw new AppError('AUTH_2FA_INVALID', 'The verification code is wrong or was already used');
          }
          hashes.splice(index, 1);
          current =
            (await usersRepository.update(row.id, {
              twoFactorRecoveryCodeHashes: JSON.stringify(hashes),
              updatedAt: nowIso(),
            })) ?? row;
          await audit.record(actorFor(row, origin.clientIp), {
            category: 'auth',
            action: 'two_factor_recovery_code_used',
            targetType: 'user',
            targetId: row.id,
            targetName: row.username,
            detail: `A recovery code was used; ${hashes.length} remain`,
          });
        }
      }
      await rateLimitRepository.reset(throttleKey);
      const token = await issueSession(current, origin);
      await audit.record(actorFor(current, origin.clientIp), {
        category: 'auth',
        action: 'login_success',
        targetType: 'user',
        targetId: current.id,
        targetName: current.username,
        detail: 'Signed in',
      });
      return { token, user: output(current) };
    },

    /**
     * Resolves a bearer credential to a principal. Role and disabled state are read from the
     * database on every request, so a demotion or a disable takes effect at once.
     */
    async authenticate(credential: string): Promise<Principal> {
      if (credential.startsWith('bax_')) return deps.apiKeys.authenticate(credential);
      const claims = verifyJwt(deps.jwtSecret, credential, Math.floor(clock.now().getTime() / 1000));
      if (claims === null)
        throw new AppError('AUTH_INVALID_TOKEN', 'The session token is invalid or expired');
      const found = await sessionsRepository.findWithUser(claims.jti);
      if (
        !found ||
        String(found.user.id) !== claims.sub ||
        found.session.revokedAt !== null ||
        found.session.expiresAt <= nowIso()
      ) {
        throw new AppError('AUTH_INVALID_TOKEN', 'The session has ended; sign in again');
      }
      if (found.user.disabled === 1) throw new AppError('AUTH_USER_DISABLED', 'This account is disabled');
      return {
        kind: 'user',
        userId: found.user.id,
        username: found.user.username,
        role: found.user.role as Role,
        sessionId: found.session.id,
      };
    },

    async logout(principal: Extract<Principal, { kind: 'user' }>): Promise<void> {
      await sessionsRepository.revoke(principal.sessionId, nowIso());
    },

    async profile(userId: number): Promise<UserOutput> {
      return output(await requireUser(userId));
    },

    /** Changes the password and signs out every other session of the user. */
    async changePassword(
      principal: Extract<Principal, { kind: 'user' }>,
      actor: Actor,
      oldPassword: string,
      newPassword: string,
    ) {
      const row = await requireUser(principal.userId);
      await requirePassword(row, oldPassword);
      await usersRepository.update(principal.userId, {
        passwordHash: await hashPassword(newPassword),
        trustedDevices: '[]',
        outOfBandOtpCiphertext: '',
        webAuthnChallengeCiphertext: '',
        updatedAt: nowIso(),
      });
      await sessionsRepository.revokeAllForUser(principal.userId, nowIso(), principal.sessionId);
      await audit.record(actor, {
        category: 'auth',
        action: 'change_password',
        targetType: 'user',
        targetId: row.id,
        targetName: row.username,
        detail: 'Changed the password; other sessions were signed out',
      });
    },

    async twoFactorSetup(userId: number, actor: Actor, currentPassword: string) {
      const row = await requireUser(userId);
      await requirePassword(row, currentPassword);
      if (row.twoFactorEnabled === 1)
        throw new AppError('AUTH_2FA_ALREADY_ENABLED', 'Two-factor authentication is already on');
      const secret = generateTotpSecret();
      await usersRepository.update(userId, {
        twoFactorSecretCiphertext: secretBox.seal(JSON.stringify({ secret, confirmed: false })),
        updatedAt: nowIso(),
      });
      const url = otpAuthUrl('BackupX', row.username, secret);
      await audit.record(actor, {
        category: 'auth',
        action: 'two_factor_setup',
        targetType: 'user',
        targetId: row.id,
        targetName: row.username,
        detail: 'Prepared a TOTP secret',
      });
      return {
        secret,
        otpAuthUrl: url,
        qrCodeDataUrl: await QRCode.toDataURL(url, { width: 220, margin: 1 }),
        twoFactorEnabled: false,
        twoFactorConfirmed: false,
      };
    },

    async twoFactorEnable(userId: number, actor: Actor, code: string) {
      const row = await requireUser(userId);
      if (row.twoFactorEnabled === 1)
        throw new AppError('AUTH_2FA_ALREADY_ENABLED', 'Two-factor authentication is already on');
      const pending = readTotpSecret(row);
      if (pending === null) throw new AppError('AUTH_2FA_SETUP_REQUIRED', 'Start the two-factor setup first');
      const step = matchTotp(pending.secret, code, clock.now().getTime(), row.twoFactorLastStep);
      if (step === null) throw new AppError('AUTH_2FA_INVALID', 'The verification code is wrong');
      const { codes, hashes } = newRecoveryCodes();
      const updated = await usersRepository.update(userId, {
        twoFactorEnabled: 1,
        twoFactorSecretCiphertext: secretBox.seal(
          JSON.stringify({ secret: pending.secret, confirmed: true }),
        ),
        twoFactorRecoveryCodeHashes: hashes,
        twoFactorLastStep: step,
        updatedAt: nowIso(),
      });
      await audit.record(actor, {
        category: 'auth',
        action: 'two_factor_enable',
        targetType: 'user',
        targetId: row.id,
        targetName: row.username,
        detail: 'Turned on two-factor authentication',
      });
      return { user: output(updated ?? row), recoveryCodes: codes };
    },

    async twoFactorRegenerate(userId: number, actor: Actor, currentPassword: string, code: string) {
      const row = await requireUser(userId);
      await requirePassword(row, currentPassword);
      if (row.twoFactorEnabled !== 1)
        throw new AppError('AUTH_2FA_NOT_ENABLED', 'Two-factor authentication is off');
      const step = checkTotp(row, code);
      if (step === null) throw new AppError('AUTH_2FA_INVALID', 'The verification code is wrong');
      const { codes, hashes } = newRecoveryCodes();
      const updated = await usersRepository.update(userId, {
        twoFactorRecoveryCodeHashes: hashes,
        twoFactorLastStep: step,
        updatedAt: nowIso(),
      });
      await audit.record(actor, {
        category: 'auth',
        action: 'two_factor_recovery_codes_regenerate',
        targetType: 'user',
        targetId: row.id,
        targetName: row.username,
        detail: 'Replaced the recovery codes',
      });
      return { user: output(updated ?? row), recoveryCodes: codes };
    },

    async twoFactorDisable(
      userId: number,
      actor: Actor,
      currentPassword: string,
      code: string,
    ): Promise<UserOutput> {
      const row = await requireUser(userId);
      await requirePassword(row, currentPassword);
      if (row.twoFactorEnabled !== 1)
        throw new AppError('AUTH_2FA_NOT_ENABLED', 'Two-factor authentication is off');
      if (checkTotp(row, code) === null)
        throw new AppError('AUTH_2FA_INVALID', 'The verification code is wrong');
      const updated = await usersRepository.update(userId, {
        twoFactorEnabled: 0,
        twoFactorSecretCiphertext: '',
        twoFactorRecoveryCodeHashes: '[]',
        trustedDevices: '[]',
        updatedAt: nowIso(),
      });
      await audit.record(actor, {
        category: 'auth',
        action: 'two_factor_disable',
        targetType: 'user',
        targetId: row.id,
        targetName: row.username,
        detail: 'Turned off two-factor authentication',
      });
      return output(updated ?? row);
    },

    /** Removes sessions that expired more than a day ago. */
    async purgeExpiredSessions(): Promise<number> {
      return sessionsRepository.deleteExpired(toIso(addMs(clock.now(), -86_400_000)));
    },

    /** Offline password reset (`backupx reset-password`): signs the user out everywhere. */
    async resetPasswordOffline(username: string, newPassword: string): Promise<void> {
      const row = await usersRepository.findByUsername(username);
      if (!row) throw new AppError('USER_NOT_FOUND', `No user named "${username}"`);
      await usersRepository.update(row.id, {
        passwordHash: await hashPassword(newPassword),
        trustedDevices: '[]',
        updatedAt: nowIso(),
      });
      await sessionsRepository.revokeAllForUser(row.id, nowIso());
      await audit.record(
        { userId: 0, username: 'system', clientIp: '' },
        {
          category: 'user',
          action: 'update',
          targetType: 'user',
          targetId: row.id,
          targetName: row.username,
          detail: 'Password reset from the command line; all sessions were signed out',
        },
      );
    },
  };
};
