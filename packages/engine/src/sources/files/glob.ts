/**
 * Exclude patterns of the file source (SPEC §3.12, extended with `**`).
 *
 * Glob syntax: `*` any run of characters except `/`, `?` one character except `/`, `[...]` a
 * character class (`[!...]` / `[^...]` negated, ranges `a-z`), `\x` the literal `x`, and `**`
 * across directories: `**` + `/` matches zero or more whole directories, a trailing `/**` matches
 * everything below a directory, any other `**` matches any run of characters including `/`.
 *
 * An entry is excluded when a pattern matches its whole slash path relative to the source's parent,
 * or its base name, or (directories only) when the pattern without its trailing `/` equals the base
 * name. A pattern ending in `/` applies to directories only.
 */

export interface ExcludePattern {
  /** The pattern as the user wrote it. */
  source: string;
  /** The pattern without its trailing `/` (what the directory base-name rule compares). */
  bare: string;
  /** True when the pattern ended in `/`: it only applies to directories. */
  directoryOnly: boolean;
  regex: RegExp;
}

const escapeRegex = (char: string): string => char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
const escapeClassChar = (char: string): string => char.replace(/[\\\][^-]/g, '\\$&');

/** Parses a `[...]` class starting at `start` (the `[`); returns the regex class and the index after `]`. */
const parseClass = (pattern: string, start: number): { regex: string; end: number } | null => {
  let index = start + 1;
  let negated = false;
  if (pattern[index] === '!' || pattern[index] === '^') {
    negated = true;
    index += 1;
  }
  let body = '';
  let first = true;
  while (index < pattern.length) {
    let char = pattern[index] ?? '';
    if (char === ']' && !first) {
      if (body === '') return null;
      return { regex: negated ? `[^/${body}]` : `[${body}]`, end: index + 1 };
    }
    first = false;
    if (char === '\\' && index + 1 < pattern.length) {
      index += 1;
      char = pattern[index] ?? '';
    }
    if (pattern[index + 1] === '-' && index + 2 < pattern.length && pattern[index + 2] !== ']') {
      let high = pattern[index + 2] ?? '';
      let next = index + 3;
      if (high === '\\' && index + 3 < pattern.length) {
        high = pattern[index + 3] ?? '';
        next = index + 4;
      }
      if (high < char) return null;
      body += `${escapeClassChar(char)}-${escapeClassChar(high)}`;
      index = next;
      continue;
    }
    body += escapeClassChar(char);
    index += 1;
  }
  return null;
};

/** Compiles one glob into an anchored regular expression (whole-string match). */
export const globToRegExp = (glob: string): RegExp => {
  let out = '';
  let index = 0;
  while (index < glob.length) {
    const char = glob[index] ?? '';
    if (char === '*') {
      if (glob[index + 1] === '*') {
        let end = index + 2;
        while (glob[end] === '*') end += 1;
        const atSegmentStart = index === 0 || glob[index - 1] === '/';
        if (atSegmentStart && glob[end] === '/') {
          out += '(?:.*/)?';
          index = end + 1;
          continue;
        }
        // `dir/**` (everything below dir) and any other `**`: any run of characters.
        out += '.*';
        index = end;
        continue;
      }
      out += '[^/]*';
      index += 1;
      continue;
    }
    if (char === '?') {
      out += '[^/]';
      index += 1;
      continue;
    }
    if (char === '[') {
      const parsed = parseClass(glob, index);
      if (parsed !== null) {
        out += parsed.regex;
        index = parsed.end;
        continue;
      }
      out += '\\[';
      index += 1;
      continue;
    }
    if (char === '\\' && index + 1 < glob.length) {
      out += escapeRegex(glob[index + 1] ?? '');
      index += 2;
      continue;
    }
    out += escapeRegex(char);
    index += 1;
  }
  return new RegExp(`^${out}$`, 'u');
};

/** Compiles exclude patterns; blank patterns are dropped. */
export const compileExcludes = (patterns: readonly string[]): ExcludePattern[] => {
  const compiled: ExcludePattern[] = [];
  for (const raw of patterns) {
    const source = raw.trim();
    if (source === '') continue;
    const directoryOnly = source.length > 1 && source.endsWith('/');
    const bare = source.replace(/\/+$/, '');
    if (bare === '') continue;
    compiled.push({ source, bare, directoryOnly, regex: globToRegExp(bare) });
  }
  return compiled;
};

/** True when `glob` matches the whole of `value`. */
export const globMatch = (glob: string, value: string): boolean => globToRegExp(glob).test(value);

/**
 * True when the entry is excluded (SPEC §3.12 rule plus `**` and directory-only patterns).
 * `relativePath` is the slash path relative to the source's parent, e.g. `www/cache/a.tmp`.
 */
export const isExcluded = (
  relativePath: string,
  baseName: string,
  isDir: boolean,
  patterns: readonly (ExcludePattern | string)[],
): boolean => {
  for (const item of patterns) {
    const pattern = typeof item === 'string' ? compileExcludes([item])[0] : item;
    if (pattern === undefined) continue;
    if (pattern.directoryOnly && !isDir) continue;
    if (pattern.regex.test(relativePath) || pattern.regex.test(baseName)) return true;
    if (isDir && pattern.bare === baseName) return true;
  }
  return false;
};
