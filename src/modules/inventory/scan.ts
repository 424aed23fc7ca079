import { AppError } from '../../errors';
import { operations, type SyncEvent, type SyncResult } from '../../contract';
import { goodsCode } from './codes';
import type { InventoryContext } from './context';
import { resultOf } from './mutate';
import type { Actor, ScanInput, ScanResult } from './views';

/**
 * The scan operation, one meaning for every transport. It goes through the one mutation path (see
 * mutate.ts): with an event id it is exactly-once, since the id's outcome is stored in the transaction
 * that applies it, and a replay, sequential or concurrent, gets that outcome marked `duplicate: true`.
 */
export async function applyScan(ctx: InventoryContext, actor: Actor, scanned: ScanInput): Promise<ScanResult> {
  const scan = { ...scanned, code: goodsCode(scanned.code) };
  // Whichever transport or route it came from (the socket, HTTP, a sync, a legacy form), a scan needs the scan operation's role.
  const required = operations.scan.role;
  const outcome = await ctx.mutations.submit({ actor, directoryId: scan.directoryId, eventId: scan.eventId, mutation: { kind: 'scan', scan }, required });
  return resultOf(outcome, 'scan').result;
}

/**
 * A batch of offline scans, answered in order. They are submitted together, so the events of one
 * directory share transactions (group commit) while each keeps its own outcome: a refused event does
 * not stop the others, and since every event carries an id, the whole batch is safe to send again.
 */
export async function applyScans(ctx: InventoryContext, actor: Actor, events: SyncEvent[]): Promise<SyncResult[]> {
  return Promise.all(
    events.map(async (event): Promise<SyncResult> => {
      try {
        return { eventId: event.eventId, ok: true, result: await applyScan(ctx, actor, event) };
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return { eventId: event.eventId, ok: false, error: error.toBody() };
      }
    }),
  );
}
