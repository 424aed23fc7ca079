import type { ScanRequest } from '../../client/src';
import { createDirectory, login } from './api';
import { check, unsettled } from './checks';
import type { SimulateOptions } from './options';
import { Phone, pick, type SimUser, type Tally } from './phone';
import type { Scenario } from './run';

/** Users scanning into their own two directories, each from several phones (`--users`, `--devices`). */

/** One random scan: mostly in, some out (a few refused for want of stock), now and then a stocktake. */
export function randomScan(directoryId: number, codes: number): ScanRequest {
  const code = `SIM-${Math.floor(Math.random() * codes)}`;
  const roll = Math.random();
  if (roll < 0.7) return { directoryId, op: 'in', code, qty: 1 + Math.floor(Math.random() * 3) };
  if (roll < 0.92) return { directoryId, op: 'out', code, qty: 1 + Math.floor(Math.random() * 2) };
  return { directoryId, op: 'set', code, qty: Math.floor(Math.random() * 15) };
}

/** Logs every user's phones in; each user gets a second directory, so one socket carries two subscriptions. */
export async function soloScenario(options: SimulateOptions, tally: Tally): Promise<Scenario> {
  const run = Date.now().toString(36);
  const users: SimUser[] = [];
  const phones: Phone[] = [];
  const baseUrl = options.urls[0];
  for (let u = 1; u <= options.users; u++) {
    const user: SimUser = { name: `sim-${run}-user-${u}`, directories: [], token: '' };
    const first = new Phone(user, `sim-${run}-u${u}-device-1`, tally, options.urls, phones.length);
    await first.start();
    const client = first.client;
    if (!client?.user) throw new Error('the first phone did not log in');
    // The SDK keeps its token to itself; the checks read the server with one of their own.
    const { token, directories } = await login(baseUrl, `${user.name}#checks`);
    user.token = token;
    user.directories.push(directories[0].id, await createDirectory(baseUrl, token, `sim ${u}`));
    for (const directoryId of user.directories) client.subscribe(directoryId);
    phones.push(first);
    for (let d = 2; d <= options.devices; d++) {
      const phone = new Phone(user, `sim-${run}-u${u}-device-${d}`, tally, options.urls, phones.length);
      await phone.start();
      phones.push(phone);
    }
    users.push(user);
  }
  const directories = users.length * 2;
  return {
    title: `${options.users} users x ${options.devices} devices`,
    phones,
    nextScan() {
      const running = phones.filter((phone) => phone.client !== null);
      if (running.length === 0) return null;
      const phone = pick(running);
      return { phone, scan: randomScan(pick(phone.user.directories), options.codes) };
    },
    unsettled: () => unsettled(baseUrl, users, phones),
    check: (all) => check(baseUrl, users, phones, all),
    passed: `${directories} directories: every phone's view equals the server's counts, the acked deltas add up to them, each applied scan is in the log once`,
    lines: () => [],
  };
}
