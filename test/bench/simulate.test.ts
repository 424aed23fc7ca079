import { DEFAULTS, parseOptions, type SimulateOptions } from '../../bench/simulate/options';
import { simulate } from '../../bench/simulate/run';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';

/**
 * `npm run simulate`, briefly, against a real server: phones on the SDK logged in through the fake
 * WeChat, disrupted while they scan, then the simulator's own agreement checks. The team scenario's
 * checks cover the roles (the viewer refused, the removed editor refused after the removal, every
 * accepted scan applied once); the test asserts they found nothing and that there was something to check.
 */

const quiet = { write: () => undefined, tty: false };

describe('npm run simulate: options', () => {
  it('takes --flag value and --flag=value, and refuses an unknown scenario', () => {
    expect(parseOptions(['--scenario=team', '--rate', '5'])).toMatchObject({ scenario: 'team', rate: 5 });
    expect(parseOptions([]).scenario).toBe('solo');
    expect(parseOptions(['--scenario', 'stocktake']).scenario).toBe('stocktake');
    expect(() => parseOptions(['--scenario=shop'])).toThrow('--scenario must be solo, team or stocktake');
  });
});

describe.each(testDatabases())('npm run simulate on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(db);
  });
  afterAll(() => server.close());

  const run = (options: Partial<SimulateOptions>) => simulate({ ...DEFAULTS, urls: [server.url], rate: 25, duration: 4, disruptEvery: 3, settleSeconds: 30, ...options }, quiet);

  it("--scenario=team: the viewer's scans refused, the removed editor's refused after the removal, every accepted scan applied once", async () => {
    const { problems, summary, tally } = await run({ scenario: 'team' });
    if (process.env.SHOW_SUMMARY) console.log(summary);
    expect(problems).toEqual([]);
    expect(summary).toContain('result       OK');
    const codes = [...tally.refused.values()].map((error) => error.code);
    expect(codes).toContain('forbidden');
    expect(codes).toContain('directory_not_found');
    expect(tally.applied.size).toBeGreaterThan(0);
  });

  it('--scenario=stocktake: the variance report and the counts after the finish agree with the acknowledged lines and scans', async () => {
    const { problems, summary, tally } = await run({ scenario: 'stocktake', rate: 15 });
    if (process.env.SHOW_SUMMARY) console.log(summary);
    expect(problems).toEqual([]);
    expect(summary).toContain('result       OK');
    expect(summary).toMatch(/counter-3 .* [1-9]\d* HTTP\)/);
    expect(tally.applied.size).toBeGreaterThan(0);
  }, 180_000);

  it('the solo scenario still agrees with the server', async () => {
    const { problems, tally } = await run({ scenario: 'solo', users: 2, devices: 2 });
    expect(problems).toEqual([]);
    expect(tally.applied.size).toBeGreaterThan(0);
  });
});
