import { editRule, MAX_COUNT, removeRule, scanRule, type GoodsState } from '../../../src/modules/inventory/rules';

/** The inventory's rules, without a database: a row and a request in, the new row or a refusal out. */
const stocked = (count: number): GoodsState => ({ id: 7, code: 'C', name: '可乐', remarks: '冰', count });
const scan = (op: 'in' | 'out', qty?: number) => ({ directoryId: 1, op, code: 'C', qty });

describe('the scan rule', () => {
  it('in adds qty (default 1) and creates unknown goods; name and remarks replace only when given', () => {
    expect(scanRule(undefined, scan('in'))).toEqual({ ok: true, value: { goods: { id: null, code: 'C', name: '', remarks: '', count: 1 }, delta: 1, created: true } });
    expect(scanRule(stocked(2), { ...scan('in', 3), name: '百事' })).toEqual({ ok: true, value: { goods: { ...stocked(5), name: '百事' }, delta: 3, created: false } });
  });

  it('out takes qty, refuses more than the count with the count, and unknown goods', () => {
    expect(scanRule(stocked(2), scan('out', 2))).toEqual({ ok: true, value: { goods: stocked(0), delta: -2, created: false } });
    const short = scanRule(stocked(2), scan('out', 3));
    expect(short.ok ? null : short.error.toBody()).toEqual({ code: 'insufficient_stock', message: 'only 2 in stock', count: 2 });
    const unknown = scanRule(undefined, scan('out'));
    expect(unknown.ok ? null : unknown.error.code).toBe('goods_not_found');
  });

  it('set makes the count qty whatever it was, delta the difference, creating the goods if needed', () => {
    expect(scanRule(stocked(9), { directoryId: 1, op: 'set', code: 'C', qty: 4 })).toEqual({ ok: true, value: { goods: stocked(4), delta: -5, created: false } });
    expect(scanRule(undefined, { directoryId: 1, op: 'set', code: 'C', qty: 0 })).toMatchObject({ ok: true, value: { goods: { count: 0 }, delta: 0, created: true } });
  });

  it('never lets a count pass the column', () => {
    const over = scanRule(stocked(MAX_COUNT), scan('in'));
    expect(over.ok ? null : over.error.code).toBe('bad_request');
  });
});

describe('the edit and remove rules', () => {
  it('an edit that changes nothing is no change', () => {
    expect(editRule(stocked(1), 'C', { name: '可乐' })).toEqual({ ok: true, value: null });
    expect(editRule(stocked(1), 'C', { remarks: '常温' })).toEqual({ ok: true, value: { ...stocked(1), remarks: '常温' } });
    const missing = editRule(undefined, 'C', { name: 'x' });
    expect(missing.ok ? null : missing.error.code).toBe('goods_not_found');
  });

  it('a removal keeps what the goods was, for the log', () => {
    expect(removeRule(stocked(3), 'C')).toEqual({ ok: true, value: stocked(3) });
    expect(removeRule(undefined, 'C').ok).toBe(false);
  });
});
