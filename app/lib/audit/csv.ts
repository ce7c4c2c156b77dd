/**
 * CSV writing (RFC 4180, CRLF line ends) with spreadsheet formula-injection
 * neutralisation: a cell that a spreadsheet would read as a formula (it starts
 * with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so it
 * is shown as text, and is always quoted.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export type CsvValue = string | number | boolean | null | undefined;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  const neutralise = FORMULA_START.test(text);
  if (neutralise) text = `'${text}`;
  if (neutralise || NEEDS_QUOTES.test(text)) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}
