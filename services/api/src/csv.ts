/**
 * RFC 4180 CSV: a header line, CRLF line ends, fields quoted when they hold a comma, quote or line
 * break. A field starting with = + - @ is prefixed with ' so a spreadsheet does not run it as a formula.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((name) => csvField(row[name])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
