/**
 * What the runner and its client processes (bench/client.ts, forked) say to each other over IPC. Times
 * are milliseconds of the system-wide monotonic clock (`now()`), so that a scan sent in one client
 * process and its change frame received in another can be compared.
 */

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;

const began = Date.now();
/** Progress on stderr, with the seconds since the bench started (the table goes to stdout). */
export const say = (text: string): void => void process.stderr.write(`[${String(Math.round((Date.now() - began) / 1000)).padStart(3)} s] ${text}\n`);

/**
 * What a device sends instead of a scan into its directory: a transfer of one unit between a pair of
 * directories, or a line of one unit to a count session of its directory.
 */
export type Work = { kind: 'transfer'; from: number; to: number } | { kind: 'count'; countId: number };

/** One socket a client process opens: a scanning device, a watcher, or an idle subscribed socket. */
export interface SocketSpec {
  role: 'device' | 'watcher';
  /** The session token (Authorization header); absent on the raw ws echo server. */
  token?: string;
  directoryId: number;
  /** Sends `subscribe` after `hello` and waits for its ack and snapshot. */
  subscribe: boolean;
  /** A device's request when it is not a scan (`directoryId` is then the count's directory, or the transfer's `from`). */
  work?: Work;
}

/** What a client process's sockets speak: scancode's /ws, the raw ws echo server, or the Socket.IO baseline. */
export type Transport = 'scancode' | 'echo' | 'socketio';

export type Command =
  | { cmd: 'open'; url: string; transport: Transport; sockets: SocketSpec[] }
  /** Each device sends its next scan as soon as the previous ack arrives; acks sent before `warmupMs` are not measured. */
  | { cmd: 'closed'; tag: string; warmupMs: number; durationMs: number; maxScans: number }
  /** Scans sent on a timer at `rate`/s over this process's devices, acked or not; then up to `drainMs` for the acks. */
  | { cmd: 'open-loop'; tag: string; rate: number; durationMs: number; maxScans: number; drainMs: number }
  /** One scan every `intervalMs`, `count` times, from the devices of this process (the fan-out scanner). */
  | { cmd: 'tick'; tag: string; intervalMs: number; count: number }
  /**
   * Waits until every watcher has seen `finalRevisions`, then reports what each saw; a watcher of a
   * directory in `scans` must have had one change frame per acked change there, and one of a directory
   * in `pushes` one `count` push per acked count line.
   */
  | { cmd: 'settle'; finalRevisions: Record<number, number>; scans: Record<number, number>; pushes: Record<number, number>; timeoutMs: number; arrivals: boolean }
  /** The last open loop's report again, once every scan it sent has its ack (or `timeoutMs` has passed): late acks included. */
  | { cmd: 'late'; timeoutMs: number }
  | { cmd: 'close' };

export interface OpenReply {
  opened: number;
  failed: number;
  firstFailure: string | null;
}

export interface ScanReply {
  /** Latency of each measured ack, ms. */
  latencies: number[];
  /** Acks counted in the measurement (sent after the warm-up). */
  measured: number;
  /** Every ok ack, warm-up included (the server CPU per scan divides by this). */
  acked: number;
  sent: number;
  /** Refusals and socket failures by error code. */
  errors: Record<string, number>;
  /** The highest revision acked per directory. */
  maxRevision: Record<number, number>;
  /** Changes acked per directory (a transfer makes one in each of its two). */
  ackedBy: Record<number, number>;
  /** Count lines acked per directory: each is a `count` push to the directory's watchers. */
  pushedBy: Record<number, number>;
  /** The measured window: from the end of the warm-up (or the first send) to the last ack. */
  from: number;
  to: number;
  /** Send time of each scan by event id (the fan-out scanner only). */
  sentAt: Record<string, number>;
}

export interface SettleReply {
  watchers: number;
  /** Change frames received over every watcher. */
  frames: number;
  /** `count` pushes received over every watcher. */
  pushes: number;
  /** Gaps, duplicates, out-of-order revisions or a missing tail, as sentences (the first few). */
  violations: string[];
  violationCount: number;
  /** Of the violations: changes that skipped revisions, and changes at or below one already seen. */
  gaps: number;
  duplicates: number;
  /** Per event id, when each watcher received its change frame (when asked for arrivals). */
  arrivals: Record<string, number[]>;
}

export type Reply = { ok: true; result: unknown } | { ok: false; error: string };
