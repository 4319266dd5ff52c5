/**
 * Tables as docker-compose prints them (texttable with a header rule): each column as wide as its
 * widest cell, headers centred, cells left-aligned and padded, columns three spaces apart, a rule
 * of dashes under the header.
 */

function centre(text: string, width: number): string {
  const space = width - text.length;
  const left = Math.floor(space / 2);
  return ' '.repeat(left) + text + ' '.repeat(space - left);
}

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.join('   ');
  const out = [line(headers.map((h, i) => centre(h, widths[i] as number)))];
  out.push('-'.repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1)));
  for (const r of rows) out.push(line(widths.map((w, i) => (r[i] ?? '').padEnd(w))));
  return out.join('\n');
}

/** Sizes as docker-compose prints them: 1000-based units, four significant digits ("1.984 MB"). */
export function humanSize(bytes: number): string {
  const suffixes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const order = bytes > 0 ? Math.min(Math.floor(Math.log(bytes) / Math.log(1000)), suffixes.length - 1) : 0;
  const value = bytes / 1000 ** order;
  return `${Number(value.toPrecision(4))} ${suffixes[order]}`;
}
