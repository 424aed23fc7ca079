import { groupBy } from '../../collections';
import type { Services } from '../../services';
import { endedSessions } from '../auth/service';
import { directoryRevisions, directoryStates, liveMemberships, watchedAccess } from '../inventory/directories';
import type { Connection } from './connection';
import type { Hub } from './hub';
import type { Difference, DirectoryEvent, Membership } from './told-directories';

/** A user's live memberships, read at `mark` for their first socket. */
export interface Baseline {
  userId: number;
  mark: number;
  memberships: Membership[];
}

/** Ids per statement of the check. */
const BATCH = 500;

/**
 * What the bus may have lost, read from the database: every REVISION_CHECK_MS, and at once when an
 * instance's Redis connection comes back (`resync`). A change whose publish never arrived reaches this
 * instance's watchers (their directories' revisions are read, and the subscriptions behind them read
 * the log); a member removed or a directory deleted loses its subscriptions; a logout closes its
 * sockets; a `directory` frame lost reaches the user's sockets. Two queries per 500 watched
 * directories (per 500 users watching them), one per 500 sessions with an open socket and one per 500
 * connected users, and one more per 500 directories that differ from what their users were told.
 *
 * At most one check runs and one waits behind it: 20,000 `resync` messages (a flapping instance)
 * cost two checks, not 20,000.
 */
export class DatabaseCheck {
  /** Checks finished, whatever their outcome: read by the metrics. */
  runs = 0;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly services: Services,
    private readonly hub: Hub,
    /** Closes a socket whose session ended (4401). */
    private readonly refuse: (connection: Connection, message: string) => void,
  ) {}

  /** Checks now, or once the running check is over; any number of requests meanwhile make one. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.runs += 1;
      this.running = null;
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
  }

  /** Checks running or waiting (0, 1 or 2). */
  get pending(): number {
    return (this.running ? 1 : 0) + (this.again ? 1 : 0);
  }

  /**
   * What a user's first socket here is taken to know of their directories: read as it authenticates,
   * before `hello` (after which the client lists them), and applied by `baselined` once the socket
   * hears the bus. Null when another socket of the user already has it, or when the read failed (the
   * next check reads it then).
   */
  async readBaseline(userId: number): Promise<Baseline | null> {
    if (this.hub.told.baselined(userId)) return null;
    // The user's channel is listened to before the read, so that a push published after it reaches
    // this instance. Held until just after this resolves: the socket joins the hub (which then holds
    // the user for as long as they have a socket here) in the same turn as its caller resumes, and a
    // socket that never joins (closed meanwhile, turned away) lets it go.
    const held = this.hub.holdUser(userId);
    try {
      await held.listening;
      const mark = this.hub.told.mark;
      return { userId, mark, memberships: await liveMemberships(this.services.em(), [userId]) };
    } catch (error) {
      this.services.log.warn({ err: error, userId }, 'could not read the directories of a socket; the next check will');
      return null;
    } finally {
      setImmediate(held.release);
    }
  }

  /**
   * Applied as the socket joins the hub. Frames the bus sent between the read and now reached no
   * socket of the user and are older than nothing here: the next check sends them.
   */
  baselined(baseline: Baseline | null): void {
    if (baseline && !this.hub.told.baselined(baseline.userId)) this.hub.told.compare([baseline.userId], baseline.memberships, baseline.mark);
  }

  private async run(): Promise<void> {
    const hub = this.hub;
    const watched = hub.watchedDirectories();
    const signedIn = [...hub.sockets].flatMap((connection) => (connection.principal ? [{ connection, sessionId: connection.principal.sessionId }] : []));
    const bySession = groupBy(
      signedIn,
      (socket) => socket.sessionId,
      (socket) => socket.connection,
    );
    const sessions = [...bySession.keys()];
    try {
      // The subscriptions as the check starts, by directory: each batch of directories is asked about
      // the users watching them only, so the check grows with the subscriptions, not with directories
      // times users (10,000 directories of one watcher each were 400 reads and 400 walks of all).
      const byDirectory = groupBy(hub.subscriptions(), (watch) => watch.subscription.directoryId);
      for (let i = 0; i < watched.length; i += BATCH) {
        const directories = watched.slice(i, i + BATCH);
        hub.catchUpTo(await directoryRevisions(this.services.em(), directories));
        // Access too: a member removed, or a directory deleted, while the bus was away loses its
        // subscriptions within one interval, on every instance.
        const asked = directories.flatMap((id) => byDirectory.get(id) ?? []);
        const watchers = [...new Set(asked.map(({ userId }) => userId))];
        for (let j = 0; j < watchers.length; j += BATCH) {
          const users = new Set(watchers.slice(j, j + BATCH));
          hub.checkAccess(
            await watchedAccess(this.services.em(), directories, [...users]),
            asked.filter(({ userId }) => users.has(userId)),
          );
        }
      }
      // Sessions too: a logout announced while Redis was away, or never heard, still closes every
      // socket of that session (4401) within one interval, on every instance.
      for (let i = 0; i < sessions.length; i += BATCH) {
        const ended = await endedSessions(this.services.em(), sessions.slice(i, i + BATCH), this.services.now());
        for (const sessionId of ended) {
          for (const connection of bySession.get(sessionId) ?? []) if (hub.sockets.has(connection)) this.refuse(connection, 'session revoked or expired');
        }
      }
      const users = hub.told.connected();
      for (let i = 0; i < users.length; i += BATCH) await this.recoverDirectoryFrames(users.slice(i, i + BATCH));
    } catch (error) {
      this.services.log.warn({ err: error }, 'revision and session check failed; the next one will try again');
    }
  }

  /** Sends the `directory` frames these users' sockets missed: what the database says now, for each directory where it differs from what they were told. */
  private async recoverDirectoryFrames(users: number[]): Promise<void> {
    const told = this.hub.told;
    const mark = told.mark;
    const differences = told.compare(users, await liveMemberships(this.services.em(), users), mark);
    const ids = [...new Set(differences.map((difference) => difference.directoryId))];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = new Set(ids.slice(i, i + BATCH));
      const states = await directoryStates(this.services.em(), [...batch]);
      for (const difference of differences.filter((d) => batch.has(d.directoryId))) {
        const state = states.get(difference.directoryId);
        if (!state) continue;
        const role = difference.now?.role ?? difference.told?.role;
        if (role === undefined) continue;
        const event = recoveredEvent(difference, state.deleted, state.directory.owner.id === difference.userId);
        if (!told.recovered(difference, { name: state.directory.name, role, live: difference.now !== null }, mark)) continue; // the bus told them something newer meanwhile
        this.services.log.info({ userId: difference.userId, directoryId: difference.directoryId, event }, 'directory frame recovered by the check (its bus message was lost)');
        this.hub.tell(difference.userId, event, { ...state.directory, role });
      }
    }
  }
}

/** The frame that brings a user from what they were told to what the database says. */
function recoveredEvent(difference: Difference, deleted: boolean, owner: boolean): DirectoryEvent {
  if (difference.now === null) return deleted ? 'deleted' : 'unshared';
  if (difference.told === null || !difference.told.live) return owner ? 'created' : 'shared';
  return difference.told.role !== difference.now.role ? 'role' : 'renamed';
}
