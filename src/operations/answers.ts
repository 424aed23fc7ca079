import type { Access } from '../modules/inventory/directories';

/** `duplicate: true` beside the answer when it is the stored outcome of an event id sent before. */
export function withDuplicate<T extends object>(answer: T, duplicate: boolean): T & { duplicate?: true } {
  return duplicate ? { ...answer, duplicate: true } : answer;
}

/** A read's access: the dispatcher (runOperation) authorized it before the handler runs. */
export function granted(access: Access | null): Access {
  if (access === null) throw new Error('a read of a directory ran without its authorization');
  return access;
}
