import { z } from 'zod';

/** Largest id the API accepts: ids are unsigned 32-bit integers as in BackupX. */
export const MAX_ID = 4_294_967_295;

/** A positive id as it appears in a JSON body. */
export const idSchema = z.number().int().min(1).max(MAX_ID);

/** A path parameter `:id`, written as decimal digits without sign or leading zeros. */
export const idParamSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .pipe(z.number().max(MAX_ID));

/** `{ id }` path parameters. */
export const idParams = z.strictObject({ id: idParamSchema });

/** RFC 3339 timestamp as emitted by the API (always UTC). */
export const timestampSchema = z.string();

/** Roles, from least to most privileged. */
export const roles = ['viewer', 'operator', 'admin'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/** `{ deleted: true }` */
export const deletedSchema = z.object({ deleted: z.literal(true) });

/** Success envelope of every JSON response: `{ code: "OK", message: "success", data }`. */
export interface OkEnvelope<T> {
  code: 'OK';
  message: 'success';
  data?: T;
}

/** Builds the zod schema of a success envelope around `data`. */
export const okEnvelope = <T extends z.ZodType>(data: T) =>
  z.object({ code: z.literal('OK'), message: z.literal('success'), data: data.optional() });
