import type { Handlers } from '../../operations/types';
import { granted, withDuplicate } from '../../operations/answers';
import { isReplay, resultOf } from '../inventory/mutate';
import { addCountLine, countReport, directoryOfCount, listCounts, startCount } from './service';

/** The operations of count sessions; finishing and cancelling go through the directory's mutation queue. */
export const countHandlers: Handlers<'listCounts' | 'startCount' | 'getCount' | 'count' | 'finishCount' | 'cancelCount'> = {
  listCounts: async ({ services, access }) => ({ counts: await listCounts(services.em(), granted(access)) }),

  startCount: async ({ services, actor, input, required }) => {
    const started = await startCount(services.counts(), actor, input.directoryId, input.name, input.eventId, required);
    return withDuplicate({ count: started.count }, started.duplicate);
  },

  getCount: async ({ services, input }) => countReport(services.em(), input.countId),

  count: async ({ services, actor, input, required }) => {
    const added = await addCountLine(services.counts(), actor, input.countId, input.code, input.qty, input.eventId, required);
    return withDuplicate({ line: added.line }, added.duplicate);
  },

  finishCount: async ({ services, actor, input, required }) => {
    const directoryId = await directoryOfCount(services.em(), input.countId);
    const outcome = await services.mutations.submit({
      actor,
      directoryId,
      eventId: input.eventId,
      mutation: { kind: 'finishCount', countId: input.countId, zeroMissing: input.zeroMissing ?? false },
      required,
    });
    const { count, lines } = resultOf(outcome, 'finishCount');
    return withDuplicate({ count, lines }, isReplay(outcome));
  },

  cancelCount: async ({ services, actor, input, required }) => {
    const directoryId = await directoryOfCount(services.em(), input.countId);
    const outcome = await services.mutations.submit({ actor, directoryId, eventId: input.eventId, mutation: { kind: 'cancelCount', countId: input.countId }, required });
    return withDuplicate({ count: resultOf(outcome, 'cancelCount').count }, isReplay(outcome));
  },
};
