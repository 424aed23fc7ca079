import { t, type TextKey } from './i18n';

/**
 * The reasons the server gives for a CSV line it refuses (src/modules/inventory/csv-import.ts and
 * csv-parse.ts), or for a whole file, in the page's language. The server writes them in English for a
 * developer's console; a message not known here (a newer server) is shown as the server wrote it.
 */
const FIELDS: Record<string, TextKey> = { code: 'code', name: 'name', remarks: 'remarks' };
const field = (name: string) => (name in FIELDS ? t(FIELDS[name]) : name);

const KNOWN: Array<[RegExp, (match: RegExpMatchArray) => string]> = [
  [/^(\d+) fields where the header has (\d+)$/, ([, n, width]) => t('csv_fields', { n, width })],
  [/^code is empty$/, () => t('csv_code_empty')],
  [/^(code|name|remarks) (?:is|are) longer than (\d+) characters$/, ([, name, max]) => t('csv_too_long', { field: field(name), max })],
  [/^(code|name|remarks) holds a NUL character or an unpaired UTF-16 surrogate$/, ([, name]) => t('csv_unstorable', { field: field(name) })],
  [/^count must be a whole number of 0 or more \(got (".*")\)$/s, ([, got]) => t('csv_count_whole', { got })],
  [/^count must be at most (\d+)$/, ([, max]) => t('csv_count_max', { max })],
  [/^a quoted field is not closed before the end of the file$/, () => t('csv_quote_open')],
  [/^text after a closing quote/, () => t('csv_after_quote')],
  [/^the first line must be the header code,name,remarks,count \(got (".*")\)$/s, ([, got]) => t('csv_header', { got })],
  [/^the file is empty/, () => t('csv_empty')],
  [/^the header: (.*)$/s, ([, reason]) => `${t('csv_header_line')}: ${csvMessage(reason)}`],
];

/** A refusal of the import as the reader's language says it; the server's text when it is not a known one. */
export function csvMessage(message: string): string {
  for (const [pattern, text] of KNOWN) {
    const match = message.match(pattern);
    if (match) return text(match);
  }
  return message;
}

/** Whether the message is one of the known ones (a refusal of the file, shown beside the file input). */
export const isKnownCsvMessage = (message: string) => KNOWN.some(([pattern]) => pattern.test(message));
