import i18next from 'i18next';
import type { TFunction } from 'i18next';
import { isApiError } from '../api/client.ts';

/**
 * Translates a key built at run time (an error code or category from the server), or returns
 * `fallback` when the key is unknown.
 */
export function translateDynamic(t: TFunction, key: string, fallback: string): string {
  // The key is checked at run time, so the static key type does not apply here.
  return i18next.exists(key) ? t(key as 'errors.UNKNOWN') : fallback;
}

/** The user-facing text of an error: `errors.<CODE>` translated, else the server message. */
export function errorText(t: TFunction, error: unknown): string {
  if (isApiError(error)) {
    const fallback = error.message.trim() !== '' ? error.message : t('errors.UNKNOWN');
    return translateDynamic(t, `errors.${error.code}`, fallback);
  }
  return t('errors.UNKNOWN');
}

/** Stable code of an error, or undefined when it did not come from the API client. */
export const errorCode = (error: unknown): string | undefined => (isApiError(error) ? error.code : undefined);
