// The client reads an actor definition's types structurally, through the phantom `__types` field
// that `actor()` declares, so it imports nothing of the server: a browser bundle's types stay small.
type TypesOf<D> = D extends { readonly __types?: infer T } ? NonNullable<T> : never;
type ActionsOf<D> = TypesOf<D> extends { actions: infer A } ? A : never;
export type InputOf<D> = TypesOf<D> extends { input: infer I } ? I : never;
export type ConnParamsOf<D> = TypesOf<D> extends { connParams: infer P } ? P : never;

/** Each action as the caller sees it: the context argument dropped, the result a Promise. */
export type ActorActions<D> = {
  [K in keyof ActionsOf<D>]: ActionsOf<D>[K] extends (c: any, ...args: infer P) => infer R ? (...args: P) => Promise<Awaited<R>> : never;
};

export type ActorKeyInput = string | readonly string[];

/** A reference to one actor; action calls go over stateless HTTP. */
export type ActorHandle<D> = ActorActions<D> & {
  /** The actor's id, creating the actor first when the handle came from getOrCreate. */
  resolve(): Promise<string>;
  /** Sends a durable queue message; with `wait: true`, resolves with the handler's result. */
  send(queue: string, body: unknown, opts?: { wait?: boolean; timeoutMs?: number }): Promise<{ messageId: number; output?: unknown }>;
  /**
   * Opens a WebSocket connection for events and low-latency calls. It reconnects (with
   * backoff, resubscribing to events) when the server goes away or restarts the actor,
   * unless `reconnect: false`; calls in flight at that moment fail with `connection_lost`.
   */
  connect(opts?: { params?: ConnParamsOf<D>; reconnect?: boolean }): ActorConn<D>;
};

/** A live connection to one actor. */
export type ActorConn<D> = ActorActions<D> & {
  /** Listens to an event; returns a function that stops listening. */
  on(event: string, listener: (...args: any[]) => void): () => void;
  once(event: string, listener: (...args: any[]) => void): () => void;
  /** Connection-level errors (e.g. refused by onBeforeConnect, closed by the server). */
  onError(listener: (error: Error) => void): () => void;
  /** Every close of the socket; `reconnecting` is true when a new socket is on its way. */
  onClose(listener: (info: { code: number; reason: string; reconnecting?: boolean }) => void): () => void;
  /** Resolves once the actor admitted the connection; rejects if it refused. */
  ready(): Promise<{ actorId: string; connId: string }>;
  /** Closes the connection; calls still waiting for a reply reject. */
  dispose(): Promise<void>;
};

/**
 * `params` are the connection params every call of the handle carries (in the
 * `x-rivet-conn-params` header): the actor's onBeforeConnect sees them, as it sees a
 * connection's. `connect()` uses them unless it is given its own.
 */
export interface HandleOptions<D> {
  params?: ConnParamsOf<D>;
}

export interface ActorAccessor<D> {
  getOrCreate(key?: ActorKeyInput, opts?: HandleOptions<D> & { createWithInput?: InputOf<D> }): ActorHandle<D>;
  /** A handle to an existing actor; calls fail with actor/not_found if it does not exist. */
  get(key?: ActorKeyInput, opts?: HandleOptions<D>): ActorHandle<D>;
  /** Creates the actor; rejects with actor/duplicate_key if it exists. */
  create(key?: ActorKeyInput, opts?: HandleOptions<D> & { input?: InputOf<D> }): Promise<ActorHandle<D>>;
  getForId(actorId: string, opts?: HandleOptions<D>): ActorHandle<D>;
}

/** `typeof registry` (whose `config.use` maps names to definitions), or that map itself. */
type ActorsOf<R> = R extends { readonly config: { readonly use: infer A } } ? A : R extends Record<string, { readonly __types?: unknown }> ? R : never;

/** `createClient<typeof registry>(url)`: one accessor per registered actor type. */
export type Client<R> = { [K in keyof ActorsOf<R> & string]: ActorAccessor<ActorsOf<R>[K]> };
