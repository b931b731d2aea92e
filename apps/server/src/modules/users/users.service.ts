import type { Role, UserSummary } from '@backupx/contract';
import { AppError } from '../../lib/errors.ts';
import { toIso, type Clock } from '../../lib/clock.ts';
import type { UserPatch, UserRow } from '../../db/tables.ts';
import type { Actor } from '../auth/principal.ts';
import { hashPassword } from '../auth/password.ts';
import type { SessionsRepository } from '../auth/sessions.repository.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { UsersRepository } from './users.repository.ts';
import { clearedSecondFactors, toUserSummary } from './user-output.ts';

export interface UserInput {
  username: string;
  displayName: string;
  email: string;
  phone: string;
  role: Role;
  disabled: boolean;
  password?: string | undefined;
}

export interface UsersServiceDeps {
  usersRepository: UsersRepository;
  sessionsRepository: Pick<SessionsRepository, 'revokeAllForUser'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}

export type UsersService = ReturnType<typeof createUsersService>;

export const createUsersService = (deps: UsersServiceDeps) => {
  const { usersRepository, audit, clock } = deps;
  const nowIso = () => toIso(clock.now());

  const requireUser = async (id: number): Promise<UserRow> => {
    const row = await usersRepository.findById(id);
    if (!row) throw new AppError('USER_NOT_FOUND', `User ${id} does not exist`);
    return row;
  };

  const isEnabledAdmin = (row: { role: string; disabled: number }) =>
    row.role === 'admin' && row.disabled === 0;

  return {
    async list(): Promise<UserSummary[]> {
      const now = nowIso();
      return (await usersRepository.list()).map((row) => toUserSummary(row, now));
    },

    async create(actor: Actor, input: UserInput & { password: string }): Promise<UserSummary> {
      if (await usersRepository.findByUsername(input.username)) {
        throw new AppError('USER_USERNAME_EXISTS', `The username "${input.username}" is taken`);
      }
      const now = nowIso();
      const row = await usersRepository.insert({
        username: input.username,
        passwordHash: await hashPassword(input.password),
        displayName: input.displayName,
        email: input.email,
        phone: input.phone,
        role: input.role,
        disabled: input.disabled ? 1 : 0,
        ...clearedSecondFactors,
        twoFactorLastStep: 0,
        createdAt: now,
        updatedAt: now,
      });
      await audit.record(actor, {
        category: 'user',
        action: 'create',
        targetType: 'user',
        targetId: row.id,
        targetName: row.username,
        detail: `Created user ${row.username} with role ${row.role}${input.disabled ? ' (disabled)' : ''}`,
      });
      return toUserSummary(row, nowIso());
    },

    async update(actor: Actor, id: number, requested: Partial<UserInput>): Promise<UserSummary> {
      const row = await requireUser(id);
      const input: UserInput = {
        username: requested.username ?? row.username,
        displayName: requested.displayName ?? row.displayName,
        email: requested.email ?? row.email,
        phone: requested.phone ?? row.phone,
        role: requested.role ?? (row.role as Role),
        disabled: requested.disabled ?? row.disabled === 1,
        password: requested.password,
      };
      if (input.username !== row.username) {
        const other = await usersRepository.findByUsername(input.username);
        if (other && other.id !== id)
          throw new AppError('USER_USERNAME_EXISTS', `The username "${input.username}" is taken`);
      }
      const losesAdmin =
        isEnabledAdmin(row) && !isEnabledAdmin({ role: input.role, disabled: input.disabled ? 1 : 0 });
      if (losesAdmin && (await usersRepository.countEnabledAdmins()) <= 1) {
        throw new AppError('USER_LAST_ADMIN', 'The last enabled administrator cannot be demoted or disabled');
      }
      const passwordChanged = input.password !== undefined && input.password !== '';
      const disabling = input.disabled && row.disabled === 0;
      const patch: UserPatch = {
        username: input.username,
        displayName: input.displayName,
        email: input.email,
        phone: input.phone,
        role: input.role,
        disabled: input.disabled ? 1 : 0,
        updatedAt: nowIso(),
      };
      if (passwordChanged) patch.passwordHash = await hashPassword(input.password ?? '');
      if (passwordChanged || disabling) {
        patch.trustedDevices = '[]';
        patch.outOfBandOtpCiphertext = '';
        patch.webAuthnChallengeCiphertext = '';
      }
      if (input.email === '' && row.email !== '') patch.emailOtpEnabled = 0;
      if (input.phone === '' && row.phone !== '') patch.smsOtpEnabled = 0;
      if (input.email !== row.email || input.phone !== row.phone) patch.outOfBandOtpCiphertext = '';
      const updated = losesAdmin
        ? await usersRepository.updateUnlessLastAdmin(id, patch)
        : await usersRepository.update(id, patch);
      if (updated === null)
        throw new AppError('USER_LAST_ADMIN', 'The last enabled administrator cannot be demoted or disabled');
      if (!updated) throw new AppError('USER_NOT_FOUND', `User ${id} does not exist`);
      if (passwordChanged || disabling) await deps.sessionsRepository.revokeAllForUser(id, nowIso());
      const changes = [
        input.role !== row.role ? `role ${row.role} → ${input.role}` : '',
        disabling ? 'disabled' : !input.disabled && row.disabled === 1 ? 'enabled' : '',
        passwordChanged ? 'password reset' : '',
        input.username !== row.username ? `renamed from ${row.username}` : '',
      ].filter((part) => part !== '');
      await audit.record(actor, {
        category: 'user',
        action: 'update',
        targetType: 'user',
        targetId: id,
        targetName: updated.username,
        detail: `Updated user ${updated.username}${changes.length > 0 ? `: ${changes.join(', ')}` : ''}`,
      });
      return toUserSummary(updated, nowIso());
    },

    async resetTwoFactor(actor: Actor, id: number): Promise<UserSummary> {
      const row = await requireUser(id);
      const updated = await usersRepository.update(id, { ...clearedSecondFactors, updatedAt: nowIso() });
      await audit.record(actor, {
        category: 'user',
        action: 'reset_two_factor',
        targetType: 'user',
        targetId: id,
        targetName: row.username,
        detail: `Removed every second factor of ${row.username}`,
      });
      return toUserSummary(updated ?? row, nowIso());
    },

    async remove(actor: Actor & { selfUserId: number | null }, id: number): Promise<void> {
      const row = await requireUser(id);
      if (actor.selfUserId === id)
        throw new AppError('USER_DELETE_SELF', 'You cannot delete your own account');
      if (isEnabledAdmin(row) && (await usersRepository.countEnabledAdmins()) <= 1) {
        throw new AppError('USER_LAST_ADMIN', 'The last enabled administrator cannot be deleted');
      }
      if (isEnabledAdmin(row)) {
        const deleted = await usersRepository.deleteUnlessLastAdmin(id);
        if (deleted === null)
          throw new AppError('USER_LAST_ADMIN', 'The last enabled administrator cannot be deleted');
      } else {
        await usersRepository.delete(id);
      }
      await audit.record(actor, {
        category: 'user',
        action: 'delete',
        targetType: 'user',
        targetId: id,
        targetName: row.username,
        detail: `Deleted user ${row.username}`,
      });
    },
  };
};
