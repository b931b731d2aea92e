const needsQuoting = /[",\r\n]/;
// Spreadsheet apps execute cells that start with these (CSV injection); a leading quote neutralises them.
const formulaStart = /^[=+\-@\t\r]/;

const cell = (value: string | number): string => {
  let text = String(value);
  if (typeof value === 'string' && formulaStart.test(text)) text = `'${text}`;
  return needsQuoting.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
};

/** RFC 4180 CSV with a UTF-8 byte-order mark so spreadsheet apps read non-ASCII text correctly. */
export const toCsv = (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  '\uFEFF' + [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';

/** `YYYYMMDD-HHMMSS` in UTC, for download file names. */
export const fileStamp = (date: Date): string =>
  date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
