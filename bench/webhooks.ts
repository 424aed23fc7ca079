/**
 * Webhooks never slow a scan (issue 18): the closed loop of 1b (50 users, a directory each, 50 devices,
 * 3 watchers per directory) without webhooks, with a webhook per directory to a local receiver that
 * answers 500 for the whole run (an outage: every delivery is retried), twice each and alternating, and
 * with one to a receiver that answers 200 (a POST per change, the receiver on the same 2 cores). The
 * server's CPU per scan is the measure that machine drift moves least. The server runs with
 * WEBHOOK_ALLOW_PRIVATE=1 so that a loopback receiver is accepted.
 */
import { createServer, type Server } from 'node:http';
import type { Clients } from './clients';
import { say } from './messages';
import type { Options } from './options';
import { closedLoop, layout, post, type Closed, type Layout, type Target } from './sections';

export interface WebhookRun extends Closed {
  /** Requests the receiver got during the run (deliveries and retries). */
  received: number;
}

/**
 * Runs without a webhook and during an outage alternate (none, outage, none, outage), so that the drift
 * of a shared 2-core machine falls on both alike; the receiver answering 200 runs last.
 */
export interface WebhookRuns {
  none: WebhookRun[];
  outage: WebhookRun[];
  ok?: WebhookRun;
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

/** Registers a webhook per directory to a receiver answering `status`, runs the closed loop, removes them. */
async function withWebhooks(t: Target, clients: Clients, sockets: Layout, o: Options, status: number): Promise<WebhookRun> {
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
    const run = { ...(await closedLoop(t, clients, sockets, o, `hook${status}`)), received: receiver.received };
    say(`  webhooks answering ${status}: ${describe(run)}; the receiver got ${run.received} requests`);
    return run;
  } finally {
    await Promise.all(hooks.map(({ device, id }) => remove(t.base, device.token ?? '', device.directoryId, id)));
    await receiver.stop();
  }
}

const describe = (run: Closed) => `${Math.round(run.rate)} scans/s, p99 ${run.p99.toFixed(1)} ms, ${run.cpuMsPerScan.toFixed(3)} ms of server CPU per scan`;

export async function webhookRuns(t: Target, clients: Clients, options: Options): Promise<WebhookRuns> {
  const o = { ...options, closedMs: options.webhookMs };
  const sockets = await layout(t.base, 'hook', 50);
  const runs: WebhookRuns = { none: [], outage: [] };
  for (let round = 0; round < 2; round++) {
    const none = { ...(await closedLoop(t, clients, sockets, o, `hook0-${round}`)), received: 0 };
    say(`  webhooks none: ${describe(none)}`);
    runs.none.push(none);
    runs.outage.push(await withWebhooks(t, clients, sockets, o, 500));
  }
  runs.ok = await withWebhooks(t, clients, sockets, o, 200);
  return runs;
}
