import type { Logger } from "pino";
import type { Conn } from "./conn.js";
import type { ActorKv } from "./kv.js";
import type { ActorSchedule } from "./schedule.js";
import type { ActorSql } from "./sql.js";
import type { QueueMessage } from "./queue.js";
import { errors } from "../common/errors.js";
import type { Client } from "../client/types.js";

/** What a context reads from its instance (which implements it without being imported here). */
export interface ContextHost {
  state: unknown;
  /** The type declares `state` or `createState`; without, `c.state` is a mistake to report. */
  readonly hasState: boolean;
  /** Lists a stateless call's connection in `c.conns` until the returned function is called. */
  holdConn(conn: Conn): () => void;
  readonly vars: unknown;
  readonly name: string;
  readonly key: readonly string[];
  readonly id: string;
  readonly conns: ReadonlyMap<string, Conn>;
  readonly log: Logger;
  readonly kv: ActorKv;
  readonly db: ActorSql;
  readonly schedule: ActorSchedule;
  readonly queues: { next<T>(queue: string, opts?: { timeoutMs?: number }): Promise<QueueMessage<T> | undefined> } | undefined;
  clientFor(chain: readonly string[]): unknown;
  broadcast(event: string, args: unknown[]): void;
  requestSleep(): void;
  requestDestroy(): void;
}

/** `c` in lifecycle hooks: a thin view onto the running instance. */
export class ActorContext<TState, TVars, TConnParams, TConnState> {
  /** @internal */
  constructor(protected readonly instance: ContextHost) {}

  get state(): TState {
    if (!this.instance.hasState) throw errors.stateNotEnabled();
    return this.instance.state as TState;
  }
  set state(value: TState) {
    if (!this.instance.hasState) throw errors.stateNotEnabled();
    this.instance.state = value;
  }
  get vars(): TVars {
    return this.instance.vars as TVars;
  }
  get name(): string {
    return this.instance.name;
  }
  get key(): readonly string[] {
    return this.instance.key;
  }
  get actorId(): string {
    return this.instance.id;
  }
  get conns(): ReadonlyMap<string, Conn<TConnParams, TConnState>> {
    return this.instance.conns as ReadonlyMap<string, Conn<TConnParams, TConnState>>;
  }
  get log(): Logger {
    return this.instance.log;
  }
  /**
   * A typed client for the other actors of this registry, called in process (no HTTP):
   * `c.client<typeof registry>().counter.getOrCreate(["x"]).increment(1)`.
   */
  client<R = unknown>(): Client<R> {
    return this.instance.clientFor(this.chain) as Client<R>;
  }
  /** @internal Actors whose turns wait on this one through `c.client()` calls. */
  protected get chain(): readonly string[] {
    return [];
  }
  /** A durable per-actor key-value store; writes commit with the current turn. */
  get kv(): ActorKv {
    return this.instance.kv;
  }
  /** The actor's own SQLite database; a turn's statements commit together when it ends. */
  get db(): ActorSql {
    return this.instance.db;
  }
  /** Reads queues declared without a handler: `await c.queue.next("jobs", { timeoutMs })`. */
  get queue(): { next<T = unknown>(name: string, opts?: { timeoutMs?: number }): Promise<QueueMessage<T> | undefined> } {
    const queues = this.instance.queues;
    const name = this.instance.name;
    return {
      next: <T>(q: string, opts?: { timeoutMs?: number }) => (queues ? queues.next<T>(q, opts) : Promise.reject(errors.queueNotFound(name, q))),
    };
  }
  /** Durable alarms that call one of this actor's actions later. */
  get schedule(): ActorSchedule {
    return this.instance.schedule;
  }
  /** Sends an event to every connection subscribed to it, after the current turn commits. */
  broadcast(event: string, ...args: unknown[]): void {
    this.instance.broadcast(event, args);
  }
  /** Unloads the actor after the current turn, as if its sleep timeout had passed. */
  sleep(): void {
    this.instance.requestSleep();
  }
  /** Deletes the actor and its data after the current turn; `onDestroy` runs first. */
  destroy(): void {
    this.instance.requestDestroy();
  }
}

/** `c` in an action: adds the calling connection, when the call came over one. */
export class ActionContext<TState, TVars, TConnParams, TConnState> extends ActorContext<TState, TVars, TConnParams, TConnState> {
  /** @internal */
  constructor(
    instance: ContextHost,
    readonly conn: Conn<TConnParams, TConnState> | undefined,
    private readonly callers: readonly string[] = [],
  ) {
    super(instance);
  }

  protected override get chain(): readonly string[] {
    return this.callers;
  }

  /** @internal The same actor, as seen by a call over `conn`: the instance this context is on, whichever queued the call. */
  withConn(conn: Conn<TConnParams, TConnState>, callers: readonly string[]): ActionContext<TState, TVars, TConnParams, TConnState> {
    return new ActionContext(this.instance, conn, callers);
  }

  /** @internal See ContextHost.holdConn. */
  holdConn(conn: Conn): () => void {
    return this.instance.holdConn(conn);
  }
}

/** `c` in onBeforeConnect. */
export type ConnContext<TState, TVars, TConnParams, TConnState> = ActorContext<TState, TVars, TConnParams, TConnState>;
