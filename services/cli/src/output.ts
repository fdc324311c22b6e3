import Table from 'cli-table3';

export function printTable(
  head: string[],
  rows: (string | number)[][],
  out: NodeJS.WritableStream = process.stdout,
): void {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(String));
  out.write(`${table.toString()}\n`);
}
