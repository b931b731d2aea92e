import { z } from 'zod';
import { defineRoute } from './route.ts';
import { deletedSchema, idParams, roleSchema, timestampSchema } from './common.ts';
import { userOutputSchema } from './auth.ts';

export const userSummarySchema = userOutputSchema.extend({
  disabled: z.boolean(),
  createdAt: timestampSchema,
});
export type UserSummary = z.infer<typeof userSummarySchema>;

const username = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only');
const displayName = z.string().trim().min(1).max(128);
const email = z.union([z.literal(''), z.email().max(255)]);
const phone = z.string().trim().max(64);

export const userCreateInputSchema = z.strictObject({
  username,
  displayName,
  email: email.default(''),
  phone: phone.default(''),
  role: roleSchema,
  disabled: z.boolean().default(false),
  password: z.string().min(8).max(128),
});

/** Every field is optional: what is absent keeps its current value (an empty password too). */
export const userUpdateInputSchema = z.strictObject({
  username: username.optional(),
  displayName: displayName.optional(),
  email: email.optional(),
  phone: phone.optional(),
  role: roleSchema.optional(),
  disabled: z.boolean().optional(),
  password: z.union([z.literal(''), z.string().min(8).max(128)]).optional(),
});

export const userRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/users',
    access: 'admin',
    tag: 'users',
    summary: 'List users (oldest first)',
    response: z.array(userSummarySchema),
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/users',
    access: 'admin',
    tag: 'users',
    summary: 'Create a user',
    body: userCreateInputSchema,
    response: userSummarySchema,
  }),
  update: defineRoute({
    method: 'PUT',
    path: '/api/users/:id',
    access: 'admin',
    tag: 'users',
    summary: 'Update a user (a password change or disabling signs the user out everywhere)',
    params: idParams,
    body: userUpdateInputSchema,
    response: userSummarySchema,
  }),
  resetTwoFactor: defineRoute({
    method: 'POST',
    path: '/api/users/:id/2fa/reset',
    access: 'admin',
    tag: 'users',
    summary: 'Remove every second factor of a user',
    params: idParams,
    response: userSummarySchema,
  }),
  remove: defineRoute({
    method: 'DELETE',
    path: '/api/users/:id',
    access: 'admin',
    tag: 'users',
    summary: 'Delete a user (not the last administrator, not yourself)',
    params: idParams,
    response: deletedSchema,
  }),
} as const;
