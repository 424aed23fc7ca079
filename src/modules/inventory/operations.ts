import type { OperationName } from '../../contract';
import { granted, withDuplicate } from '../../operations/answers';
import type { Handlers } from '../../operations/types';
import { exportCsv } from './csv';
import { importCsv } from './csv-import';
import { createDirectory, deleteDirectory, findDirectory, listDirectories, renameDirectory } from './directories';
import { directoryWithGoods, editGoods, getGoods, lookupGoods, removeGoods } from './goods';
import { changesSince, directoryLogs } from './history';
import { applyScan, applyScans } from './scan';
import { goodsCode } from './codes';
import { isReplay, resultOf } from './mutate';
import { lowStockAlerts, transferOf } from './goods';

type InventoryOperation = Exclude<
  OperationName,
  | 'listMembers'
  | 'setMemberRole'
  | 'removeMember'
  | 'createInvite'
  | 'listInvites'
  | 'revokeInvite'
  | 'acceptInvite'
  | 'listCounts'
  | 'startCount'
  | 'getCount'
  | 'count'
  | 'finishCount'
  | 'cancelCount'
  | 'createWebhook'
  | 'listWebhooks'
  | 'getWebhook'
  | 'deleteWebhook'
  | 'listDeliveries'
>;

/** The inventory's operations: a few lines each over the domain functions. */
export const inventoryHandlers: Handlers<InventoryOperation> = {
  listDirectories: async ({ services, actor }) => ({ directories: await listDirectories(services.em(), actor.userId) }),

  createDirectory: async ({ services, actor, input }) => {
    const created = await createDirectory(services.inventory(), actor, input.name, input.eventId);
    return withDuplicate({ directory: created.directory }, created.duplicate);
  },

  getDirectory: async ({ services, actor, input, access }) => directoryWithGoods(services.em(), actor.userId, granted(access), input.q),

  renameDirectory: async ({ services, actor, input, required }) => {
    const renamed = await renameDirectory(services.inventory(), actor, input.directoryId, input.name, input.eventId, required);
    return withDuplicate({ directory: renamed.directory }, renamed.duplicate);
  },

  deleteDirectory: async ({ services, actor, input, required }) => {
    const deleted = await deleteDirectory(services.inventory(), actor, input.directoryId, input.eventId, required);
    return withDuplicate({}, deleted.duplicate);
  },

  getGoods: async ({ services, input, access }) => ({ goods: await getGoods(services.em(), granted(access), input.code) }),

  lookup: async ({ services, input, access }) => ({ goods: await lookupGoods(services.em(), granted(access), input.code) }),

  editGoods: async ({ services, actor, input, required }) => {
    const { directoryId, code, ...edit } = input;
    const edited = await editGoods(services.inventory(), actor, directoryId, code, edit, required);
    return withDuplicate({ goods: edited.goods }, edited.duplicate);
  },

  removeGoods: async ({ services, actor, input, required }) => {
    const removed = await removeGoods(services.inventory(), actor, input.directoryId, input.code, input.eventId, required);
    return withDuplicate({}, removed.duplicate);
  },

  scan: async ({ services, actor, input }) => applyScan(services.inventory(), actor, input),

  changes: async ({ services, actor, input, access }) => changesSince(services.em(), actor.userId, granted(access), input.since, services.config.changesReplayLimit),

  logs: async ({ services, input, access }) => directoryLogs(services.em(), granted(access), input.before, input.limit ?? 50),

  exportCsv: async ({ services, actor, access }) => {
    const em = services.em();
    const directory = await findDirectory(em, actor.userId, granted(access));
    return { filename: `${directory.name}.csv`, body: exportCsv(em, directory.id) };
  },

  importCsv: async ({ services, actor, input }) => importCsv(services.inventory(), actor, input.directoryId, input.csv),

  sync: async ({ services, actor, input }) => ({ results: await applyScans(services.inventory(), actor, input.events) }),

  transfer: async ({ services, actor, input, required }) => {
    const outcome = await services.mutations.across({ kind: 'transfer', actor, eventId: input.eventId, required, from: input.from, to: input.to, code: goodsCode(input.code), qty: input.qty });
    const { transferId, out, in: into } = resultOf(outcome, 'transfer');
    const duplicate = isReplay(outcome);
    return withDuplicate({ transferId, out: { ...out, duplicate }, in: { ...into, duplicate } }, duplicate);
  },

  undo: async ({ services, actor, input, required }) => {
    // A side of a transfer is undone with its other side: both directories locked in one transaction.
    const transferId = await transferOf(services.em(), input.directoryId, input.revision);
    const outcome =
      transferId === null
        ? await services.mutations.submit({ actor, directoryId: input.directoryId, eventId: input.eventId, mutation: { kind: 'undo', revision: input.revision }, required })
        : await services.mutations.across({ kind: 'undoTransfer', actor, eventId: input.eventId, required, directoryId: input.directoryId, revision: input.revision, transferId });
    const { undone, change } = resultOf(outcome, 'undo');
    return withDuplicate({ undone, change }, isReplay(outcome));
  },

  listAlerts: async ({ services, actor }) => ({ alerts: await lowStockAlerts(services.em(), actor.userId) }),
};
