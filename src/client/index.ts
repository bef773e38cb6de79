import { Connection } from "./connection.js";
import { ActorError } from "./errors.js";
import { actorRequest, manage, type HttpOptions } from "./http.js";
import { serializeActorKey } from "./protocol/keys.js";
import type { ActorKeyInput, Client } from "./types.js";
import { encodeInput, type Encoding } from "./wire.js";

export { ActorError } from "./errors.js";
export type { ActorAccessor, ActorActions, ActorConn, ActorHandle, ActorKeyInput, Client, HandleOptions } from "./types.js";

export interface ClientOptions {
  /** "json" (default) or "cbor" for actor requests and WebSocket frames (docs/PROTOCOL.md). */
  encoding?: Encoding;
  /** Extra headers for every HTTP request (e.g. auth for a gateway in front of Troupe). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** An actor as a handle names it, with the connection params its calls carry. */
type Target = ({ kind: "id"; actorId: string } | { kind: "key"; name: string; key: string[]; mode: "get" | "getOrCreate"; input?: unknown }) & { params?: unknown };

// Handle members that are not actions. `then` must stay undefined so a handle is not mistaken for a promise.
const RESERVED = new Set(["resolve", "connect", "send", "then", "toJSON"]);

/**
 * `createClient<typeof registry>("http://127.0.0.1:6420")`: typed accessors per actor type.
 * It speaks Troupe's wire protocol, RivetKit's client protocol (docs/PROTOCOL.md): actors are
 * found through the management API (`/actors`) and called through the gateway. Resolved actor ids
 * are cached per client, so a stateless call is one HTTP round trip.
 */
export function createClient<R>(endpoint: string, opts: ClientOptions = {}): Client<R> {
  const http: HttpOptions = {
    endpoint: endpoint.replace(/\/+$/, ""),
    encoding: opts.encoding ?? "json",
    fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    headers: opts.headers ?? {},
  };
  const resolved = new Map<string, Promise<string>>();

  const resolveTarget = (target: Target, fresh = false): Promise<string> => {
    if (target.kind === "id") return Promise.resolve(target.actorId);
    const cacheKey = `${target.name}\u0000${JSON.stringify(target.key)}`;
    let p = fresh ? undefined : resolved.get(cacheKey);
    if (!p) {
      p = target.mode === "get" ? findByKey(target.name, target.key) : putActor("PUT", target.name, target.key, target.input);
      resolved.set(cacheKey, p);
      p.catch(() => resolved.delete(cacheKey));
    }
    return p;
  };

  const callHttp = async (target: Target, action: string, args: unknown[]): Promise<unknown> => {
    const rest = `/action/${encodeURIComponent(action)}`;
    const id = await resolveTarget(target);
    try {
      return (await actorRequest(http, id, rest, { args }, target.params)).output;
    } catch (err) {
      // A cached id goes stale when the actor is destroyed; a key handle finds (or makes) the new one.
      if (target.kind === "key" && isNotFound(err)) {
        const freshId = await resolveTarget(target, true);
        if (freshId !== id) return (await actorRequest(http, freshId, rest, { args }, target.params)).output;
      }
      throw err;
    }
  };

  const findByKey = async (name: string, key: string[]): Promise<string> => {
    const r = await manage(http, "GET", `/actors?name=${encodeURIComponent(name)}&key=${encodeURIComponent(serializeActorKey(key))}`);
    const found = (r.actors as { actor_id: string }[])[0];
    if (!found) throw new ActorError("actor", "not_found", `Actor not found: ${name} ${JSON.stringify(key)}`, undefined, 404);
    return found.actor_id;
  };

  const putActor = async (method: "PUT" | "POST", name: string, key: string[], input: unknown): Promise<string> => {
    const body: Record<string, unknown> = { name, key: serializeActorKey(key) };
    if (input !== undefined) body.input = encodeInput(input);
    return (await manage(http, method, "/actors", body)).actor.actor_id as string;
  };

  const wsUrl = async (target: Target): Promise<string> => {
    const id = await resolveTarget(target);
    return `${http.endpoint.replace(/^http/, "ws")}/gateway/${encodeURIComponent(id)}/connect`;
  };

  const makeConn = (target: Target, params: unknown, reconnect = true) => {
    const conn = new Connection(() => wsUrl(target), params, http.encoding, reconnect);
    const api = {
      on: conn.on.bind(conn),
      once: conn.once.bind(conn),
      onError: conn.onError.bind(conn),
      onClose: conn.onClose.bind(conn),
      ready: conn.ready.bind(conn),
      dispose: conn.dispose.bind(conn),
    };
    return new Proxy(api, {
      get: (obj, prop) => {
        if (typeof prop !== "string" || prop in obj) return (obj as Record<string | symbol, unknown>)[prop];
        if (prop === "then" || prop === "toJSON") return undefined;
        return (...args: unknown[]) => conn.call(prop, args);
      },
    });
  };

  const makeHandle = (target: Target) =>
    new Proxy(
      {},
      {
        get: (_obj, prop) => {
          if (typeof prop !== "string") return undefined;
          if (prop === "resolve") return () => resolveTarget(target);
          if (prop === "connect") return (o?: { params?: unknown; reconnect?: boolean }) => makeConn(target, o?.params ?? target.params, o?.reconnect);
          if (prop === "send") return (queue: string, body: unknown, o?: { wait?: boolean; timeoutMs?: number }) => sendMessage(target, queue, body, o);
          if (RESERVED.has(prop)) return undefined;
          return (...args: unknown[]) => callHttp(target, prop, args);
        },
      },
    );

  const normalize = (key: ActorKeyInput | undefined): string[] => (key === undefined ? [] : typeof key === "string" ? [key] : [...key]);

  const accessor = (name: string) => ({
    getOrCreate: (key?: ActorKeyInput, o?: { createWithInput?: unknown; params?: unknown }) =>
      makeHandle({ kind: "key", name, key: normalize(key), mode: "getOrCreate", input: o?.createWithInput, params: o?.params }),
    get: (key?: ActorKeyInput, o?: { params?: unknown }) => makeHandle({ kind: "key", name, key: normalize(key), mode: "get", params: o?.params }),
    getForId: (actorId: string, o?: { params?: unknown }) => makeHandle({ kind: "id", actorId, params: o?.params }),
    create: async (key?: ActorKeyInput, o?: { input?: unknown; params?: unknown }) => {
      const actorId = await putActor("POST", name, normalize(key), o?.input);
      return makeHandle({ kind: "id", actorId, params: o?.params });
    },
  });

  const sendMessage = async (target: Target, queue: string, body: unknown, o?: { wait?: boolean; timeoutMs?: number }) => {
    const id = await resolveTarget(target);
    const r = (await actorRequest(http, id, `/queue/${encodeURIComponent(queue)}`, { body, name: queue, wait: o?.wait ?? false, timeout: o?.timeoutMs }, target.params)) as {
      status: "completed" | "timedOut";
      response?: unknown;
      messageId: number;
    };
    // The protocol answers a wait that ran out as a status; this API has always thrown it.
    if (r.status === "timedOut") {
      throw new ActorError("queue", "queue_wait_timed_out", `No result within ${o?.timeoutMs} ms; the message stays queued (id ${r.messageId})`, { messageId: r.messageId }, 408);
    }
    return r.response === undefined ? { messageId: r.messageId } : { messageId: r.messageId, output: r.response };
  };

  const accessors = new Map<string, ReturnType<typeof accessor>>();
  return new Proxy({} as Client<R>, {
    get: (_obj, prop) => {
      if (typeof prop !== "string" || prop === "then" || prop === "toJSON") return undefined;
      let a = accessors.get(prop);
      if (!a) accessors.set(prop, (a = accessor(prop)));
      return a;
    },
  });
}

function isNotFound(err: unknown): boolean {
  return err instanceof ActorError && err.group === "actor" && err.code === "not_found";
}
