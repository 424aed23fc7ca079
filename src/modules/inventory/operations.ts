import type { OperationName } from '../../contract';
import type { Handlers } from '../../operations/types';
import { exportCsv } from './csv';
import { createDirectory, deleteDirectory, findDirectory, listDirectories, renameDirectory, type Access } from './directories';
import { directoryWithGoods, editGoods, getGoods, lookupGoods, removeGoods } from './goods';
import { changesSince, directoryLogs } from './history';
import { applyScan, applyScans } from './scan';

/** `duplicate: true` beside the answer when it is the stored outcome of an event id sent before. */
function withDuplicate<T extends object>(answer: T, duplicate: boolean): T & { duplicate?: true } {
  return duplicate ? { ...answer, duplicate: true } : answer;
}

/** A read's access: the dispatcher authorized it before the handler runs. */
const granted = (access: Access | null): Access => {
  if (access === null) throw new Error('a read of a directory ran without its authorization');
  return access;
};

type InventoryOperation = Exclude<OperationName, 'listMembers' | 'setMemberRole' | 'removeMember' | 'createInvite' | 'listInvites' | 'revokeInvite' | 'acceptInvite'>;

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

  sync: async ({ services, actor, input }) => ({ results: await applyScans(services.inventory(), actor, input.events) }),
};
