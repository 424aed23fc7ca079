import { parseOptions, UsageError } from './options';
import { simulate } from './run';

/**
 * `npm run simulate`: people with phones, every phone an SDK client on the `ws` adapter, scanning at a
 * given rate while phones drop their sockets, go offline, lose their WebSocket (HTTP sync instead) and
 * get killed and restarted. Then everything settles and is checked against the server: every view
 * equals its counts, every scan was applied exactly once, and in a team each role got what it may do.
 * Exits 1 on any disagreement.
 */
async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  for (const url of options.urls) {
    const health = await fetch(`${url}/healthz`).catch(() => null);
    if (health?.status !== 200) throw new Error(`no scancode server answers at ${url} (start one with npm start, in dev-login mode)`);
  }
  const { problems, summary } = await simulate(options, { write: (text) => process.stdout.write(text), tty: process.stdout.isTTY === true });
  process.stdout.write(`${summary}\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`simulate: ${error instanceof UsageError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 2;
});
