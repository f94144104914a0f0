/**
 * fwknop's configuration line syntax (spec 12.1), shared by fwknopd.conf and access.conf.
 * fwknopd reads each line with `sscanf("%s %[^;\n\r]")`: the name is the first run of
 * non-blanks, the value starts after the blanks that follow and runs up to the first `;`,
 * CR or LF, so blanks at the end of the value belong to it.
 */

/** One `NAME VALUE` line, located for messages. */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

/** A non-comment line that is not `NAME VALUE` (fwknopd calls it an invalid entry). */
export interface InvalidLine {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

export interface ParsedText {
  readonly entries: readonly ConfigEntry[];
  readonly invalid: readonly InvalidLine[];
}

// fwknopd looks only at the first character to skip a line (IS_EMPTY_LINE).
const SKIP_FIRST = new Set(['#', ';', '\r', '\n', '\0']);
// The value must start with a non-blank: sscanf skips every blank before it.
const LINE = /^\s*(\S+)\s+([^\s;][^;\r\n]*)/;

export function parseConfigText(text: string, file: string): ParsedText {
  const entries: ConfigEntry[] = [];
  const invalid: InvalidLine[] = [];
  const lines = text.split('\n');
  // A final newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.length === 0 || SKIP_FIRST.has(raw[0])) return;
    // fwknopd reports blank-only lines as invalid; they are harmless, so we skip them.
    if (raw.trim() === '') return;
    const m = LINE.exec(raw);
    if (!m) {
      invalid.push({ file, line, text: raw.replace(/\r$/, '') });
      return;
    }
    let name = m[1];
    if (name.endsWith(':')) name = name.slice(0, -1);
    entries.push({ name, value: m[2], file, line });
  });
  return { entries, invalid };
}

/** fwknop's booleans: true iff the value starts with `Y` or `y`. */
export function parseBool(value: string): boolean {
  return value.startsWith('Y') || value.startsWith('y');
}

/** True when a boolean value is neither Y... nor N... (it still counts as N). */
export function isDubiousBool(value: string): boolean {
  return !/^[YyNn]/.test(value);
}
