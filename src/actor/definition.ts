import type { ActorContext, ActionContext, ConnContext } from "./context.js";
import type { Conn } from "./conn.js";

export interface ActorOptions {
  /**
   * Idle time (no connections, no work) before the actor is unloaded. Default 30 s. Never sooner;
   * later by at most a sixteenth of it, and at most about a second (idle actors share timers).
   */
  sleepTimeoutMs?: number;
  /** An action running longer than this is abandoned; see docs/ARCHITECTURE.md. Default 60 s. */
  actionTimeoutMs?: number;
  /** Run actions concurrently instead of one at a time (gives up turn isolation). Default false. */
  reentrant?: boolean;
  /**
   * Calls (actions, raw requests) that may wait in the actor's inbox; one more is refused with
   * 503 `actor_overloaded`, so callers cannot grow the server's memory without bound. Alarms,
   * queue handlers and lifecycle hooks are never refused. Default 10,000.
   */
  maxQueuedCalls?: number;
}

export type AnyActionFn = (c: any, ...args: any[]) => unknown;
export type ActionFn<TState, TVars, TConnParams, TConnState> = (c: ActionContext<TState, TVars, TConnParams, TConnState>, ...args: any[]) => unknown;

/** Everything an actor type may declare; types are inferred from `state`/`createState` onward. */
export interface ActorConfig<TState, TVars, TConnParams, TConnState, TInput, TActions extends Record<string, AnyActionFn>> {
  state?: TState;
  // `c` here names no type parameter, so TypeScript can infer TState from the return type first.
  createState?: (c: ActorContext<undefined, undefined, unknown, unknown>, input: TInput) => TState | Promise<TState>;
  /** Vars every instance starts with (each gets its own structured clone), as `state` is for state. */
  vars?: TVars;
  createVars?: (c: ActorContext<TState, undefined, TConnParams, TConnState>) => TVars | Promise<TVars>;
  // `c` here must not mention TConnState, or TypeScript fixes it before reading the return type.
  createConnState?: (c: ActorContext<TState, TVars, TConnParams, undefined>, params: TConnParams) => TConnState | Promise<TConnState>;
  connState?: TConnState;
  onCreate?: (c: ActorContext<TState, TVars, TConnParams, TConnState>, input: TInput) => void | Promise<void>;
  onWake?: (c: ActorContext<TState, TVars, TConnParams, TConnState>) => void | Promise<void>;
  onSleep?: (c: ActorContext<TState, TVars, TConnParams, TConnState>) => void | Promise<void>;
  onDestroy?: (c: ActorContext<TState, TVars, TConnParams, TConnState>) => void | Promise<void>;
  onStateChange?: (c: ActorContext<TState, TVars, TConnParams, TConnState>, newState: TState) => void;
  /** Throw (ideally a UserError) to refuse the connection; the client gets the reason. */
  onBeforeConnect?: (c: ConnContext<TState, TVars, TConnParams, TConnState>, params: TConnParams) => void | Promise<void>;
  onConnect?: (c: ActorContext<TState, TVars, TConnParams, TConnState>, conn: Conn<TConnParams, TConnState>) => void | Promise<void>;
  onDisconnect?: (c: ActorContext<TState, TVars, TConnParams, TConnState>, conn: Conn<TConnParams, TConnState>) => void | Promise<void>;
  // The intersection lets TypeScript type `c` from TState even when createState is inferred first.
  actions: TActions & Record<string, ActionFn<TState, TVars, TConnParams, TConnState>>;
  /**
   * Raw HTTP: any request to `/gateway/{id}/request/*` arrives here as a turn, with the URL
   * path rewritten to the part after `/request`. Return a Response.
   */
  onRequest?: (c: ActorContext<TState, TVars, TConnParams, TConnState>, request: Request) => Response | Promise<Response>;
  /**
   * Raw WebSocket at `/gateway/{id}/websocket/*`. Runs as a turn; message and close listeners
   * registered on the socket run as turns too. An open socket keeps the actor awake.
   */
  onWebSocket?: (c: ActorContext<TState, TVars, TConnParams, TConnState>, socket: RawSocket, request: { url: string; headers: Record<string, string | string[] | undefined> }) => void | Promise<void>;
  options?: ActorOptions;
  /**
   * Durable queues. A function handles each message as a turn; `{ maxAttempts, backoffMs }`
   * tunes retries; a queue with no handler is read with `c.queue.next(name)`.
   */
  queues?: Record<string, ((c: ActionContext<TState, TVars, TConnParams, TConnState>, body: any, message: QueueMessageInfo) => unknown) | QueueOptions<TState, TVars, TConnParams, TConnState>>;
  /** The actor's own SQLite database (`c.db`): migrations run once each, in order. */
  db?: { migrations?: readonly string[] };
}

/** Passed to a queue handler: the message id and how many attempts failed before this one. */
export interface QueueMessageInfo {
  id: number;
  attempts: number;
}

export interface QueueOptions<TState, TVars, TConnParams, TConnState> {
  handler?: (c: ActionContext<TState, TVars, TConnParams, TConnState>, body: any, message: QueueMessageInfo) => unknown;
  /** Attempts before a message becomes a dead letter. Default 5. */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt. Default 100 ms. */
  backoffMs?: number;
}

/** The raw WebSocket handed to onWebSocket. */
export interface RawSocket {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onMessage(listener: (data: string | Uint8Array) => void | Promise<void>): void;
  onClose(listener: (code: number, reason: string) => void | Promise<void>): void;
}

export const ACTOR_DEFINITION = Symbol.for("troupe.actorDefinition");

/** The value `actor()` returns; the registry reads `config`, the client reads the type parameters. */
export interface ActorDefinition<TState, TVars, TConnParams, TConnState, TInput, TActions extends Record<string, AnyActionFn>> {
  readonly [ACTOR_DEFINITION]: true;
  readonly config: ActorConfig<TState, TVars, TConnParams, TConnState, TInput, TActions>;
  /** Phantom fields carrying types to the client; never set at run time. */
  readonly __types?: { state: TState; input: TInput; connParams: TConnParams; actions: TActions };
}

export type AnyActorDefinition = ActorDefinition<any, any, any, any, any, Record<string, AnyActionFn>>;

export const DEFAULT_OPTIONS = { sleepTimeoutMs: 30_000, actionTimeoutMs: 60_000, reentrant: false, maxQueuedCalls: 10_000 } as const satisfies Required<ActorOptions>;

export function actor<
  TState = undefined,
  TVars = undefined,
  TConnParams = undefined,
  TConnState = undefined,
  TInput = undefined,
  TActions extends Record<string, AnyActionFn> = {},
>(config: ActorConfig<TState, TVars, TConnParams, TConnState, TInput, TActions>): ActorDefinition<TState, TVars, TConnParams, TConnState, TInput, TActions> {
  if (config.state !== undefined && config.createState) {
    throw new TypeError("actor(): give either `state` or `createState`, not both");
  }
  if (config.vars !== undefined && config.createVars) {
    throw new TypeError("actor(): give either `vars` or `createVars`, not both");
  }
  if (!config.actions || typeof config.actions !== "object") throw new TypeError("actor(): `actions` must be an object of functions");
  for (const [name, fn] of Object.entries(config.actions)) {
    if (typeof fn !== "function") throw new TypeError(`actor(): action "${name}" must be a function`);
  }
  const o = config.options ?? {};
  for (const k of ["sleepTimeoutMs", "actionTimeoutMs"] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isFinite(v) || v <= 0)) throw new TypeError(`actor(): options.${k} must be a positive number of milliseconds`);
  }
  if (o.maxQueuedCalls !== undefined && (!Number.isInteger(o.maxQueuedCalls) || o.maxQueuedCalls < 1)) {
    throw new TypeError("actor(): options.maxQueuedCalls must be a positive integer");
  }
  return { [ACTOR_DEFINITION]: true, config };
}
