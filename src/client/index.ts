import { Connection } from "./connection.js";
import { ActorError } from "./errors.js";
import { request, type HttpOptions } from "./http.js";
import type { ActorKeyInput, Client } from "./types.js";
import type { Encoding } from "./wire.js";

export { ActorError } from "./errors.js";
export type { ActorAccessor, ActorActions, ActorConn, ActorHandle, ActorKeyInput, Client, HandleOptions } from "./types.js";

export interface ClientOptions {
  /** "json" (default) or "cbor" for HTTP bodies and WebSocket frames. */
  encoding?: Encoding;
  /** Extra headers for every HTTP request (e.g. auth for a gateway in front of Troupe). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** An actor as a handle names it, with the connection params its calls carry. */
type Target = ({ kind: "id"; actorId: string } | { kind: "key"; name: string; key: string[]; mode: "get" | "getOrCreate"; input?: unknown }) & { params?: unknown };

const PARAMS_HEADER = "x-rivet-conn-params";

// Handle members that are not actions. `then` must stay undefined so a handle is not mistaken for a promise.
const RESERVED = new Set(["resolve", "connect", "send", "then", "toJSON"]);

/**
 * `createClient<typeof registry>("http://127.0.0.1:6420")`: typed accessors per actor type.
 * Resolved actor ids are cached per client, so a stateless call is one HTTP round trip.
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
      p =
        target.mode === "get"
          ? request(http, "GET", `/actors?name=${encodeURIComponent(target.name)}&key=${encodeURIComponent(JSON.stringify(target.key))}`).then((r) => r.actor.actorId as string)
          : request(http, "PUT", "/actors", { name: target.name, key: target.key, input: target.input }).then((r) => r.actor.actorId as string);
      resolved.set(cacheKey, p);
      p.catch(() => resolved.delete(cacheKey));
    }
    return p;
  };

  const callHttp = async (target: Target, action: string, args: unknown[]): Promise<unknown> => {
    const path = (id: string) => `/actors/${encodeURIComponent(id)}/action/${encodeURIComponent(action)}`;
    const id = await resolveTarget(target);
    try {
      return (await request(http, "POST", path(id), { args }, paramsHeader(target))).output;
    } catch (err) {
      // A cached id goes stale when the actor is destroyed; a key handle finds (or makes) the new one.
      if (target.kind === "key" && err instanceof ActorError && err.code === "actor_not_found") {
        const freshId = await resolveTarget(target, true);
        if (freshId !== id) return (await request(http, "POST", path(freshId), { args }, paramsHeader(target))).output;
      }
      throw err;
    }
  };

  const wsUrl = async (target: Target): Promise<string> => {
    const id = await resolveTarget(target);
    return `${http.endpoint.replace(/^http/, "ws")}/actors/${encodeURIComponent(id)}/connect`;
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
          if (prop === "send")
            return async (queue: string, body: unknown, o?: { wait?: boolean; timeoutMs?: number }) => {
              const id = await resolveTarget(target);
              return request(http, "POST", `/actors/${encodeURIComponent(id)}/queue/${encodeURIComponent(queue)}`, { body, wait: o?.wait, timeoutMs: o?.timeoutMs }, paramsHeader(target));
            };
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
      const r = await request(http, "POST", "/actors", { name, key: normalize(key), input: o?.input });
      return makeHandle({ kind: "id", actorId: r.actor.actorId as string, params: o?.params });
    },
  });

  const paramsHeader = (target: Target): Record<string, string> | undefined =>
    target.params === undefined ? undefined : { [PARAMS_HEADER]: JSON.stringify(target.params) };

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
