/**
 * Webhooks never slow a scan (issue 18): the closed loop of 1b (50 users, a directory each, 50 devices,
 * 3 watchers per directory) without webhooks, with a webhook per directory to a local receiver that
 * answers 200, and with one to a receiver that answers 500 for the whole run (an outage: every delivery
 * is retried). The server runs with WEBHOOK_ALLOW_PRIVATE=1 so that a loopback receiver is accepted.
 */
import { createServer, type Server } from 'node:http';
import type { Clients } from './clients';
import { say } from './messages';
import type { Options } from './options';
import { closedLoop, layout, post, type Closed, type Target } from './sections';

export interface WebhookRun extends Closed {
  /** Requests the receiver got during the run (deliveries and retries). */
  received: number;
}

export interface WebhookRuns {
  none?: WebhookRun;
  ok?: WebhookRun;
  outage?: WebhookRun;
}

class Receiver {
  received = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static start(status: number): Promise<Receiver> {
    return new Promise((resolve) => {
      let receiver: Receiver | undefined;
      const server = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          if (receiver) receiver.received++;
          response.writeHead(status).end();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        receiver = new Receiver(server, `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`);
        resolve(receiver);
      });
    });
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function remove(base: string, token: string, directoryId: number, webhookId: number): Promise<void> {
  const response = await fetch(`${base}/api/directories/${directoryId}/webhooks/${webhookId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`DELETE webhook: ${response.status} ${await response.text()}`);
}

export async function webhookRuns(t: Target, clients: Clients, options: Options): Promise<WebhookRuns> {
  const o = { ...options, closedMs: options.webhookMs };
  const sockets = await layout(t.base, 'hook', 50);
  const runs: WebhookRuns = {};
  runs.none = { ...(await closedLoop(t, clients, sockets, o, 'hook0')), received: 0 };
  say(`  webhooks none: ${Math.round(runs.none.rate)} scans/s, p99 ${runs.none.p99.toFixed(1)} ms`);
  // The outage last, so that the retries it leaves behind do not weigh on the other runs.
  for (const [key, status] of [
    ['ok', 200],
    ['outage', 500],
  ] as const) {
    const receiver = await Receiver.start(status);
    const hooks = await Promise.all(
      sockets.devices.map(async (device) => {
        const { webhook } = await post<{ webhook: { id: number } }>(
          t.base,
          `/api/directories/${device.directoryId}/webhooks`,
          device.token ?? '',
          { url: receiver.url, secret: 'bench-webhook-secret-0123456789' },
          201,
        );
        return { device, id: webhook.id };
      }),
    );
    try {
      runs[key] = { ...(await closedLoop(t, clients, sockets, o, `hook${status}`)), received: receiver.received };
      say(`  webhooks answering ${status}: ${Math.round(runs[key].rate)} scans/s, p99 ${runs[key].p99.toFixed(1)} ms; the receiver got ${receiver.received} requests`);
    } finally {
      await Promise.all(hooks.map(({ device, id }) => remove(t.base, device.token ?? '', device.directoryId, id)));
      await receiver.stop();
    }
  }
  return runs;
}
