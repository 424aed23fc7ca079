import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config';
import { rawDatabase, type RawDatabase } from './db/raw';
import { directoryViewById } from './modules/inventory/directories';
import { MutationQueue } from './modules/inventory/queue';
import type { Em, Orm } from './db/orm';
import { RefusedTokens } from './modules/auth/refused-tokens';
import type { AuthContext } from './modules/auth/service';
import type { InventoryContext } from './modules/inventory/context';
import type { Bus } from './modules/realtime/bus';
import type { WechatClient } from './modules/wechat/client';

/** What every transport hands to the domain: built once per app, with a fresh EntityManager per unit of work. */
export class Services {
  constructor(
    readonly config: Config,
    readonly orm: Orm,
    readonly bus: Bus,
    readonly wechat: WechatClient,
    readonly now: () => Date,
    readonly log: FastifyBaseLogger,
  ) {
    const raw = rawDatabase(orm);
    this.raw = raw;
    this.refusedTokens = new RefusedTokens(config.limits.badTokensPerMinute);
    this.mutations = new MutationQueue({
      raw,
      bus,
      now,
      // A rename or delete is announced to every socket of the owner with the directory as it now is.
      announce: (directoryId, ownerId, events) => {
        directoryViewById(this.em(), directoryId)
          .then(async (directory) => {
            for (const event of events) await bus.publish({ type: 'directory', ownerId, event, directory });
          })
          .catch((error: unknown) => log.error({ err: error, directoryId }, 'could not announce a directory change'));
      },
    });
  }

  /** Transactions on the driver's connection: the mutation path's. */
  readonly raw: RawDatabase;
  /** Tokens refused per client address (BAD_TOKEN_RATE_LIMIT), counted by HTTP and WebSocket alike. */
  readonly refusedTokens: RefusedTokens;
  /** Every change to a directory goes through this one queue (group commit per directory). */
  readonly mutations: MutationQueue;

  /** A fresh EntityManager: one per HTTP request or WebSocket message, never one per socket. */
  em(): Em {
    return this.orm.em.fork();
  }

  /** The inventory's context; its EntityManager is forked on first use (a scan needs none). */
  inventory(): InventoryContext {
    let em: Em | undefined;
    const fork = () => (em ??= this.em());
    return {
      get em() {
        return fork();
      },
      bus: this.bus,
      now: this.now,
      changesReplayLimit: this.config.changesReplayLimit,
      mutations: this.mutations,
      raw: this.raw,
    };
  }

  auth(): AuthContext {
    return { em: this.em(), bus: this.bus, wechat: this.wechat, now: this.now, sessionTtlMs: this.config.sessionTtlMs, maxSessions: this.config.maxSessionsPerUser, devLogin: this.config.wechat.devLogin, log: this.log };
  }
}
