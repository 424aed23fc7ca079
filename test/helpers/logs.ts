import { Writable } from 'node:stream';

/** One pino line, parsed. */
export type LogLine = Record<string, any>;

/** How long a wait for a log line may take before it fails (a guard against hanging, not an assertion). */
const WAIT_MS = 10_000;

/**
 * The server's log, captured through `deps.logStream` (each pino write is one JSON line), so that tests
 * can read what an operator would: which request, which user, which address, and never a token.
 */
export class CapturedLog {
  /** Every line written so far, raw (to check that a secret never appears anywhere). */
  readonly text: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, done) => {
      for (const line of String(chunk).split('\n')) if (line !== '') this.text.push(line);
      done();
    },
  });

  get lines(): LogLine[] {
    return this.text.map((line) => JSON.parse(line) as LogLine);
  }

  /** The lines with this message (and matching, if given). */
  find(msg: string, match: (line: LogLine) => boolean = () => true): LogLine[] {
    return this.lines.filter((line) => line.msg === msg && match(line));
  }

  /** Resolves with the first line with this message (and matching) once it has been written. */
  next(msg: string, match: (line: LogLine) => boolean = () => true): Promise<LogLine> {
    return this.first((line) => line.msg === msg && match(line), `"${msg}"`);
  }

  /**
   * Every line of the HTTP request with this id, once the request's own line (src/plugins/request-log.ts,
   * the one with `res`) has been written: it is the last of them.
   */
  async request(reqId: string): Promise<LogLine[]> {
    await this.first((line) => line.reqId === reqId && line.res !== undefined, `for request ${reqId}`);
    return this.lines.filter((line) => line.reqId === reqId);
  }

  private async first(match: (line: LogLine) => boolean, what: string): Promise<LogLine> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no log line ${what} came; the log: ${this.text.join('\n').slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
