import { Readable } from 'node:stream';
import type { Em } from '../../db/orm';
import { goodsAfter } from './goods';

const PAGE = 500;
const BOM = '\uFEFF';

/**
 * RFC 4180 quoting. Text that a spreadsheet would run as a formula (=, @, or + - not followed by a plain
 * number) gets a leading ' so that opening an export cannot execute anything.
 */
export function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^(?:[=@\t\r]|[+-](?!\d+(?:\.\d+)?$))/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The goods of a directory as CSV, UTF-8 with a BOM (so that spreadsheet programs show Chinese names),
 * read and sent a page at a time rather than built in memory.
 */
export function exportCsv(em: Em, directoryId: number): Readable {
  async function* rows(): AsyncGenerator<string> {
    yield `${BOM}code,name,remarks,count\r\n`;
    let afterId = 0;
    for (;;) {
      const page = await goodsAfter(em, directoryId, afterId, PAGE);
      if (page.length === 0) return;
      yield page.map((g) => [g.code, g.name, g.remarks, g.count].map(csvField).join(',') + '\r\n').join('');
      afterId = page[page.length - 1].id;
    }
  }
  return Readable.from(rows());
}
