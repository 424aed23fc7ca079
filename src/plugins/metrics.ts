import { performance } from 'node:perf_hooks';
import type { FastifyInstance, LogLevel } from 'fastify';
import type {} from '@fastify/swagger'; // the `hide` route option
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CloseCode, ERROR_CODES } from '../contract';
import type { MutationRequest, Outcome } from '../modules/inventory/mutate';
import type { Change } from '../modules/inventory/views';
import type { BusMessage } from '../modules/realtime/bus';
import type { RealtimeGateway } from '../modules/realtime/gateway';
import { RedisBus } from '../modules/realtime/redis-bus';
import { LIMITS, type LimitRefusals } from './rate-limit';

/**
 * `GET /metrics` in Prometheus' text format: sockets, frames, acks, mutations, group commit, the bus
 * and the database pool, and the process. The domain and the gateway know nothing of prom-client:
 * they report to small observer interfaces, implemented here.
 *
 * Each app has its own registry (tests build many apps in one process). The process metrics (CPU,
 * memory, event loop, GC) describe the process, not an app, and start observers that are never
 * stopped, so they are collected once per process and served by every app beside its own.
 */

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** tarn's pool, which knex (and so MikroORM) keeps its connections in. */
interface Pool {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** Label values come from fixed lists, never from what a client sent (a close code, an error code). */
const KNOWN_CLOSE_CODES = new Set<number>([1000, 1005, 1006, ...Object.values(CloseCode)]);
const KNOWN_ERROR_CODES = new Set<string>(ERROR_CODES);
const closeLabel = (code: number) => (KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other');

/** Commit to delivery is usually under a millisecond in one process; a Redis round trip or a busy loop shows further up. */
const LAG_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500];

/** One mutation's outcome as a metric label: applied, refused (with its code) or the replay of an event id. */
function outcomeLabels(request: MutationRequest, outcome: Outcome): { kind: string; outcome: string; code: string } {
  const kind = request.mutation.kind;
  if (outcome.ok) return { kind, outcome: outcome.duplicate ? 'duplicate' : 'applied', code: '' };
  if (outcome.error.details?.duplicate === true) return { kind, outcome: 'duplicate', code: '' };
  return { kind, outcome: 'refused', code: KNOWN_ERROR_CODES.has(outcome.error.code) ? outcome.error.code : 'other' };
}

/**
 * Creates this app's metrics, points the gateway, the mutation queue and the bus at them, and serves
 * them at `GET /metrics` (left out of the OpenAPI document: it is for Prometheus, not for clients).
 * Called on the root instance before the server listens, after the error handler is set, so that a
 * failure answers in the API's error shape.
 */
export async function publishMetrics(app: FastifyInstance, gateway: RealtimeGateway, refusals: LimitRefusals): Promise<void> {
  const { services } = app;
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'scancode_ws_open_sockets',
    help: 'WebSockets open now, authenticated or not',
    registers,
    collect() {
      this.set(gateway.openSockets);
    },
  });
  const framesIn = new Counter({ name: 'scancode_ws_frames_received_total', help: 'Frames received from clients, by type (invalid: not a frame of the protocol)', labelNames: ['type'], registers });
  const framesOut = new Counter({ name: 'scancode_ws_frames_sent_total', help: 'Frames sent to clients, by type', labelNames: ['type'], registers });
  const closed = new Counter({ name: 'scancode_ws_closed_total', help: 'WebSockets closed, by close code', labelNames: ['code'], registers });
  const acks = new Histogram({
    name: 'scancode_ws_ack_duration_seconds',
    help: 'From a request frame received to its ack sent, by request type',
    labelNames: ['type'],
    buckets: ACK_BUCKETS,
    registers,
  });
  gateway.observer = {
    frameIn: (type) => framesIn.inc({ type }),
    frameOut: (type) => framesOut.inc({ type }),
    acked: (type, seconds) => acks.observe({ type }, seconds),
    closed: (code) => closed.inc({ code: closeLabel(code) }),
  };

  const limited = new Counter({
    name: 'scancode_rate_limited_total',
    help: 'Requests, frames and sockets refused by a limit (rate_limited), and requests that did not arrive within BODY_TIMEOUT_MS (body_timeout), by limit',
    labelNames: ['limit'],
    registers,
  });
  for (const limit of LIMITS) limited.inc({ limit }, 0);
  refusals.observer = (limit) => limited.inc({ limit });

  const mutations = new Counter({
    name: 'scancode_mutations_total',
    help: 'Mutations (scans and the rest) by kind and outcome: applied, refused (by error code), duplicate (an event id sent again), failed (the transaction failed)',
    labelNames: ['kind', 'outcome', 'code'],
    registers,
  });
  const batches = new Histogram({ name: 'scancode_mutation_batch_size', help: 'Mutations committed together in one transaction (group commit)', buckets: BATCH_BUCKETS, registers });
  const retries = new Counter({ name: 'scancode_mutation_retries_total', help: 'Batches run again after losing a race on a unique key', registers });
  const lag = new Histogram({ name: 'scancode_bus_delivery_lag_seconds', help: "From a change's commit to its delivery to this instance's watchers", buckets: LAG_BUCKETS, registers });
  // Keyed by the change itself: the bus hands this process's listeners the very object published.
  const committedAt = new WeakMap<Change, number>();
  // Post-commit hooks, like the bus's: the domain does not know it is counted.
  const offHooks = [
    services.events.on('batchRetried', () => retries.inc()),
    services.events.on('batchCommitted', ({ requests, done }) => {
      batches.observe(requests.length);
      requests.forEach((request, index) => mutations.inc(outcomeLabels(request, done.outcomes[index])));
      const now = performance.now();
      for (const change of done.changes) committedAt.set(change, now);
    }),
    services.events.on('batchFailed', ({ requests }) => {
      for (const request of requests) mutations.inc({ kind: request.mutation.kind, outcome: 'failed', code: '' });
    }),
  ];
  app.addHook('onClose', async () => offHooks.forEach((off) => off()));
  const unsubscribe = services.bus.subscribe((message: BusMessage) => {
    if (message.type !== 'change') return;
    const at = committedAt.get(message.change);
    if (at !== undefined) lag.observe((performance.now() - at) / 1000);
  });
  app.addHook('onClose', async () => unsubscribe());

  const bus = services.bus;
  let failuresSeen = 0;
  new Counter({
    name: 'scancode_bus_publish_failures_total',
    help: 'Publishes that did not reach Redis (other instances catch up from the log)',
    registers,
    collect() {
      const failures = bus instanceof RedisBus ? bus.publishFailures : 0;
      this.inc(Math.max(0, failures - failuresSeen));
      failuresSeen = Math.max(failures, failuresSeen);
    },
  });

  // By the scope of the channel it came on (directory, user, global): with per-directory subscription
  // an instance receives the messages of the directories and users its sockets watch, and the few
  // global ones, whatever the size of the deployment. Counted as they arrive, before the MAC check.
  const receivedSeen = { directory: 0, user: 0, global: 0 };
  new Counter({
    name: 'scancode_bus_messages_received_total',
    help: 'Messages this instance received from Redis, by the scope of their channel: directory, user or global (its own echoes and dropped ones included)',
    labelNames: ['scope'],
    registers,
    collect() {
      for (const scope of ['directory', 'user', 'global'] as const) {
        const received = bus instanceof RedisBus ? bus.received[scope] : 0;
        this.inc({ scope }, Math.max(0, received - receivedSeen[scope]));
        receivedSeen[scope] = Math.max(received, receivedSeen[scope]);
      }
    },
  });

  // By reason: `unauthenticated` (its MAC does not match BUS_SECRET: a forgery, or an instance with
  // another secret) and `malformed` (signed, but no bus message: two versions mid-upgrade).
  const droppedSeen = { unauthenticated: 0, malformed: 0 };
  new Counter({
    name: 'scancode_bus_dropped_messages_total',
    help: 'Messages on the Redis channel dropped unread, by reason: unauthenticated (the MAC does not match BUS_SECRET) or malformed (signed, but not a bus message)',
    labelNames: ['reason'],
    registers,
    collect() {
      for (const reason of ['unauthenticated', 'malformed'] as const) {
        const dropped = bus instanceof RedisBus ? bus.dropped[reason] : 0;
        this.inc({ reason }, Math.max(0, dropped - droppedSeen[reason]));
        droppedSeen[reason] = Math.max(dropped, droppedSeen[reason]);
      }
    },
  });

  let unfoundedSeen = 0;
  new Counter({
    name: 'scancode_bus_unfounded_changes_total',
    help: 'Changes from the bus at a revision the database does not have (a bug, or a forged message), ignored; counted per subscription',
    registers,
    collect() {
      this.inc(Math.max(0, gateway.unfoundedChanges - unfoundedSeen));
      unfoundedSeen = Math.max(gateway.unfoundedChanges, unfoundedSeen);
    },
  });

  let checksSeen = 0;
  new Counter({
    name: 'scancode_revision_checks_total',
    help: 'Checks with the database of what the bus may have lost (revisions, access, sessions, directory frames): every REVISION_CHECK_MS and on resync, coalesced',
    registers,
    collect() {
      this.inc(Math.max(0, gateway.check.runs - checksSeen));
      checksSeen = Math.max(gateway.check.runs, checksSeen);
    },
  });
  new Gauge({
    name: 'scancode_revision_checks_pending',
    help: 'Checks with the database running (at most 1) and waiting behind it (at most 1)',
    registers,
    collect() {
      this.set(gateway.check.pending);
    },
  });

  const pool = (): Pool | undefined => {
    try {
      return (services.orm.em.getConnection().getKnex().client as { pool?: Pool }).pool;
    } catch {
      return undefined; // the database is closed (the app is shutting down)
    }
  };
  new Gauge({
    name: 'scancode_db_pool_connections',
    help: 'Database pool connections by state (used, free) and its maximum (max)',
    labelNames: ['state'],
    registers,
    collect() {
      const current = pool();
      if (!current) return;
      this.set({ state: 'used' }, current.numUsed());
      this.set({ state: 'free' }, current.numFree());
      this.set({ state: 'max' }, current.max);
    },
  });
  new Gauge({
    name: 'scancode_db_pool_pending_acquires',
    help: 'Requests waiting for a database connection',
    registers,
    collect() {
      this.set(pool()?.numPendingAcquires() ?? 0);
    },
  });

  app.decorate('metrics', registry);
  // Scraped every few seconds: its requests are logged only when something goes wrong (never louder than the app).
  const quiet: LogLevel[] = ['fatal', 'error', 'warn', 'silent'];
  const logLevel = quiet.find((level) => level === services.config.logLevel) ?? 'warn';
  app.get('/metrics', { schema: { hide: true }, logLevel }, async (_request, reply) => {
    const text = (await processMetrics().metrics()) + (await registry.metrics());
    return reply.type(registry.contentType).send(text);
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's own metrics (the process's are served beside them). */
    metrics: Registry;
  }
}
