import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config';
import { rawDatabase, type RawDatabase } from './db/raw';
import { DomainEvents } from './modules/inventory/events';
import { MutationQueue } from './modules/inventory/queue';
import type { Em, Orm } from './db/orm';
import { RefusedTokens } from './modules/auth/refused-tokens';
import type { AuthContext } from './modules/auth/service';
import type { InventoryContext } from './modules/inventory/context';
import type { Bus } from './modules/realtime/bus';
import { publishDomainEvents } from './modules/realtime/publish';
import { AcceptLimit } from './modules/teams/accept-limit';
import type { TeamContext } from './modules/teams/service';
import type { CountContext } from './modules/counts/service';
import type { WechatClient } from './modules/wechat/client';
import { deliverWebhooks } from './modules/webhooks/operations';
import { WebhookWorker } from './modules/webhooks/worker';

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
    this.inviteAccepts = new AcceptLimit(config.teams.inviteAcceptsPerMinute);
    this.events = new DomainEvents((error, type) => log.error({ err: error, event: type }, 'a post-commit hook failed'));
    this.mutations = new MutationQueue({ raw, now, events: this.events, limits: config.storage });
    // The bus is one hook among others (metrics, later webhooks and alerts): the domain knows none of them.
    publishDomainEvents(this.events, bus, () => this.em(), log);
    this.webhooks = new WebhookWorker(raw, now, log, config.webhooks);
    deliverWebhooks(this.events, this.webhooks);
  }

  /** Transactions on the driver's connection: the mutation path's. */
  readonly raw: RawDatabase;
  /** Tokens refused per client address (BAD_TOKEN_RATE_LIMIT), counted by HTTP and WebSocket alike. */
  readonly refusedTokens: RefusedTokens;
  /** Invite accepts per user per minute (INVITE_ACCEPT_RATE_LIMIT). */
  readonly inviteAccepts: AcceptLimit;
  /** The post-commit hooks: what the domain announces after each commit, for whoever registers. */
  readonly events: DomainEvents;
  /** Every change to a directory goes through this one queue (group commit per directory). */
  readonly mutations: MutationQueue;
  /** Sends each directory's changes to its webhooks (started and stopped with the app). */
  readonly webhooks: WebhookWorker;

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
      events: this.events,
      now: this.now,
      changesReplayLimit: this.config.changesReplayLimit,
      maxDirectoriesPerUser: this.config.storage.maxDirectoriesPerUser,
      mutations: this.mutations,
      raw: this.raw,
    };
  }

  counts(): CountContext {
    return { em: this.em(), raw: this.raw, events: this.events, now: this.now };
  }

  teams(): TeamContext {
    return { em: this.em(), raw: this.raw, events: this.events, now: this.now, limits: this.config.teams };
  }

  auth(): AuthContext {
    return {
      em: this.em(),
      bus: this.bus,
      wechat: this.wechat,
      now: this.now,
      sessionTtlMs: this.config.sessionTtlMs,
      maxSessions: this.config.maxSessionsPerUser,
      devLogin: this.config.wechat.devLogin,
      log: this.log,
    };
  }
}
