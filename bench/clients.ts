import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { say, type Command, type OpenReply, type Reply, type ScanReply, type SettleReply, type SocketSpec, type Transport } from './messages';

/** The runner's side of the client processes: one IPC queue each, commands answered in order. */
export class Clients {
  private readonly waiting = new Map<ChildProcess, ((reply: Reply) => void)[]>();

  private constructor(private readonly children: ChildProcess[]) {
    for (const child of children) {
      this.waiting.set(child, []);
      child.on('message', (reply: Reply) => this.waiting.get(child)?.shift()?.(reply));
      child.on('exit', (code) => {
        for (const settle of this.waiting.get(child) ?? []) settle({ ok: false, error: `client process exited with ${code}` });
      });
    }
  }

  static start(count: number): Clients {
    return new Clients(Array.from({ length: count }, () => fork(join(__dirname, 'client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  }

  get count(): number {
    return this.children.length;
  }

  private send<T>(child: ChildProcess, command: Command): Promise<T> {
    return new Promise((resolve, reject) => {
      this.waiting.get(child)?.push((reply) => (reply.ok ? resolve(reply.result as T) : reject(new Error(`client ${child.pid}: ${reply.error}`))));
      child.send(command);
    });
  }

  /** Sends each process its own command (null: none), all at once, and waits for every answer. */
  each<T>(command: (index: number) => Command | null): Promise<T[]> {
    return Promise.all(
      this.children.flatMap((child, index) => {
        const own = command(index);
        return own ? [this.send<T>(child, own)] : [];
      }),
    );
  }

  /** Deals the sockets round-robin over the processes (socket 0 to process 0) and opens them. */
  async open(url: string, specs: SocketSpec[], transport: Transport = 'scancode'): Promise<OpenReply> {
    const dealt = this.children.map((_, index) => specs.filter((__, s) => s % this.children.length === index));
    const replies = await this.each<OpenReply>((index) => ({ cmd: 'open', url, transport, sockets: dealt[index] }));
    const total = { opened: 0, failed: 0, firstFailure: null as string | null };
    for (const reply of replies) {
      total.opened += reply.opened;
      total.failed += reply.failed;
      total.firstFailure ??= reply.firstFailure;
    }
    if (total.failed > 0) say(`  ${total.failed} of ${specs.length} sockets failed to open: ${total.firstFailure}`);
    return total;
  }

  scans(command: (index: number) => Command | null): Promise<ScanReply[]> {
    return this.each<ScanReply>(command);
  }

  /** Waits for the watchers to see the changes and count lines of `replies`, and collects what they saw. */
  settle(replies: ScanReply[], arrivals = false, timeoutMs = 15_000): Promise<SettleReply[]> {
    const finalRevisions: Record<number, number> = {};
    const scans: Record<number, number> = {};
    const pushes: Record<number, number> = {};
    for (const reply of replies) {
      for (const [directory, revision] of Object.entries(reply.maxRevision)) finalRevisions[Number(directory)] = Math.max(finalRevisions[Number(directory)] ?? 0, revision);
      for (const [directory, acked] of Object.entries(reply.ackedBy)) scans[Number(directory)] = (scans[Number(directory)] ?? 0) + acked;
      for (const [directory, lines] of Object.entries(reply.pushedBy)) pushes[Number(directory)] = (pushes[Number(directory)] ?? 0) + lines;
    }
    return this.each<SettleReply>(() => ({ cmd: 'settle', finalRevisions, scans, pushes, timeoutMs, arrivals }));
  }

  async close(): Promise<void> {
    await this.each(() => ({ cmd: 'close' }));
  }

  stop(): void {
    for (const child of this.children) child.disconnect();
  }
}
