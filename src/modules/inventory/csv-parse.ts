/**
 * RFC 4180 records with the line of the file each starts on (a quoted field may span lines, so a
 * record's line is not its index). Line breaks are CRLF, LF or a lone CR, as spreadsheets write them.
 * A quote inside an unquoted field is kept as text (spreadsheets write `5"` for inches); a quoted
 * field left open, or text after a closing quote, is an error of that record, and reading goes on at
 * the next line.
 */
export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

export function* csvRecords(text: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  const isBreak = (c: string) => c === '\n' || c === '\r';
  /** Past one line break at i (CRLF counted once). */
  const skipBreak = () => {
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else i += 1;
    line += 1;
  };
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let error: string | null = null;
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i += 1;
        let closed = false;
        while (i < n) {
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i += 1;
            closed = true;
            break;
          }
          if (isBreak(c)) {
            field += c === '\r' && text[i + 1] === '\n' ? '\r\n' : c;
            skipBreak();
            continue;
          }
          field += c;
          i += 1;
        }
        if (!closed) {
          yield { line: start, error: 'a quoted field is not closed before the end of the file' };
          return;
        }
        if (i < n && text[i] !== ',' && !isBreak(text[i])) error ??= 'text after a closing quote (a quote inside a quoted field is written "")';
        // Whatever follows the closing quote up to the separator is dropped with the error.
        while (i < n && text[i] !== ',' && !isBreak(text[i])) i += 1;
      } else {
        const from = i;
        while (i < n && text[i] !== ',' && !isBreak(text[i])) i += 1;
        field = text.slice(from, i);
      }
      fields.push(field);
      if (i < n && text[i] === ',') {
        i += 1;
        continue;
      }
      if (i < n) skipBreak();
      break;
    }
    yield error === null ? { line: start, fields } : { line: start, error };
  }
}

/**
 * The export's guard against formulas (csv.ts) taken off: a leading ' before what a spreadsheet would run
 * (=, @, a tab, a CR, or + or - not followed by a plain number) is the export's, not the text's.
 */
export function unguarded(text: string): string {
  return /^'(?:[=@\t\r]|[+-](?!\d+(?:\.\d+)?$))/.test(text) ? text.slice(1) : text;
}
