const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a Go-style duration (`24h`, `90m`, `1h30m`, `15s`) into milliseconds; null when invalid. */
export const parseDurationMs = (text: string): number | null => {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  let total = 0;
  let rest = trimmed;
  const part = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) return null;
    const [whole, amount, unit] = match;
    total += Number(amount) * (units[unit ?? ''] ?? 0);
    rest = rest.slice(whole.length);
  }
  return total > 0 ? Math.round(total) : null;
};
