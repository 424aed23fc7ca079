import type { Handlers } from '../../operations/types';
import type { Services } from '../../services';
import { authorize } from '../inventory/directories';
import type { DomainEvents } from '../inventory/events';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks } from './service';
import type { WebhookWorker } from './worker';

const context = (services: Services) => ({ raw: services.raw, now: services.now, allowPrivate: services.webhooks.options.allowPrivate });

/**
 * The operations of webhooks. Reads were authorized by runOperation; the two writes ask the same seam
 * here (they change no directory, so they take no place in its mutation queue).
 */
export const webhookHandlers: Handlers<'createWebhook' | 'listWebhooks' | 'getWebhook' | 'deleteWebhook' | 'listDeliveries'> = {
  createWebhook: async ({ services, actor, input, required }) => {
    await authorize(services.em(), actor.userId, input.directoryId, required, 'createWebhook');
    const webhook = await createWebhook(context(services), actor.userId, input.directoryId, input.url, input.secret);
    services.webhooks.watch(input.directoryId);
    return { webhook };
  },

  listWebhooks: async ({ services, input }) => ({ webhooks: await listWebhooks(services.raw, input.directoryId) }),

  getWebhook: async ({ services, input }) => ({ webhook: await getWebhook(services.raw, input.directoryId, input.webhookId) }),

  deleteWebhook: async ({ services, actor, input, required }) => {
    await authorize(services.em(), actor.userId, input.directoryId, required, 'deleteWebhook');
    await deleteWebhook(services.raw, input.directoryId, input.webhookId);
    return {};
  },

  listDeliveries: async ({ services, input }) => ({ deliveries: await listDeliveries(services.raw, input.directoryId, input.webhookId, input.limit ?? 50) }),
};

/**
 * The webhooks' post-commit hook: it only wakes the worker, which reads the changes from the log.
 * Nothing is written or awaited on the scan path, so a slow or dead receiver never slows a scan.
 */
export function deliverWebhooks(events: DomainEvents, worker: WebhookWorker): () => void {
  return events.on('changes', ({ directoryId }) => worker.changed(directoryId));
}
