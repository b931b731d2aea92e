import { z } from 'zod';
import { defineRoute } from './route.ts';
import { idParams, roleSchema, timestampSchema } from './common.ts';

export const apiKeySummarySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: roleSchema,
  prefix: z.string(),
  createdBy: z.string(),
  lastUsedAt: timestampSchema.nullable(),
  expiresAt: timestampSchema.nullable(),
  disabled: z.boolean(),
  createdAt: timestampSchema,
});
export type ApiKeySummary = z.infer<typeof apiKeySummarySchema>;

/** At most ten years. */
export const API_KEY_MAX_TTL_HOURS = 87_600;

export const apiKeyCreateInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(128),
  role: roleSchema.default('viewer'),
  /** 0 = never expires. */
  ttlHours: z.number().int().min(0).max(API_KEY_MAX_TTL_HOURS).default(0),
});

export const apiKeyRoutes = {
  list: defineRoute({
    method: 'GET',
    path: '/api/api-keys',
    access: 'admin',
    tag: 'api-keys',
    summary: 'List API keys (newest first)',
    response: z.array(apiKeySummarySchema),
  }),
  create: defineRoute({
    method: 'POST',
    path: '/api/api-keys',
    access: 'admin',
    tag: 'api-keys',
    summary: 'Create an API key; the plaintext is returned only here',
    body: apiKeyCreateInputSchema,
    response: z.object({ apiKey: apiKeySummarySchema, plainKey: z.string() }),
  }),
  toggle: defineRoute({
    method: 'PUT',
    path: '/api/api-keys/:id/toggle',
    access: 'admin',
    tag: 'api-keys',
    summary: 'Enable or disable an API key',
    params: idParams,
    body: z.strictObject({ disabled: z.boolean() }),
    response: z.object({ disabled: z.boolean() }),
  }),
  revoke: defineRoute({
    method: 'DELETE',
    path: '/api/api-keys/:id',
    access: 'admin',
    tag: 'api-keys',
    summary: 'Revoke (delete) an API key',
    params: idParams,
    response: z.object({ revoked: z.literal(true) }),
  }),
} as const;
