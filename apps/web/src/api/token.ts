import { readStorage, removeStorage, writeStorage } from '../lib/storage.ts';

/** localStorage key of the session token (the token only, never the user). */
export const TOKEN_STORAGE_KEY = 'backupx-auth';

export const readToken = (): string | null => {
  const token = readStorage(TOKEN_STORAGE_KEY);
  return token && token.trim() !== '' ? token : null;
};

export const storeToken = (token: string): void => {
  writeStorage(TOKEN_STORAGE_KEY, token);
};

export const clearToken = (): void => {
  removeStorage(TOKEN_STORAGE_KEY);
};
