/** localStorage access that never throws (private mode, disabled storage, quota). */

export function readStorage(key: string): string | null {
  try {
    return globalThis.localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeStorage(key: string, value: string): void {
  try {
    globalThis.localStorage.setItem(key, value);
  } catch {
    // Storage unavailable: the choice lasts for this page only.
  }
}

export function removeStorage(key: string): void {
  try {
    globalThis.localStorage.removeItem(key);
  } catch {
    // Storage unavailable: nothing was stored.
  }
}
