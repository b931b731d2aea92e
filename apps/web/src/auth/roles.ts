import type { Role } from '@backupx/contract';

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `role` has at least the privileges of `required`. */
export const hasRole = (role: Role | undefined, required: Role): boolean =>
  role !== undefined && rank[role] >= rank[required];

/** Operators and admins may change backups; viewers only read. */
export const canWrite = (role: Role | undefined): boolean => hasRole(role, 'operator');

export const isAdmin = (role: Role | undefined): boolean => hasRole(role, 'admin');

/** Tag colours of the roles, shared by every page. */
export const roleColors: Record<Role, string> = { admin: 'red', operator: 'blue', viewer: 'default' };
