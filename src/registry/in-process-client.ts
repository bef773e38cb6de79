import { errors } from "../common/errors.js";
/** What the in-process client needs from the manager that serves it. */
export interface InProcessHost {
  resolve(name: string, key: unknown, mode: "get" | "getOrCreate" | "create", input?: unknown): Promise<{ actorId: string }>;
  instance(actorId: string): Promise<{ readonly busyWithTurn: boolean; readonly type: { readonly options: { readonly reentrant: boolean } } }>;
  callAction(actorId: string, action: string, args: unknown[], via: { params?: unknown; chain: readonly string[] }): Promise<unknown>;
  sendMessage(actorId: string, queue: string, body: unknown, opts?: { wait?: boolean; timeoutMs?: number; params?: unknown }): Promise<{ messageId: number; output?: unknown }>;
}

/** An actor as a handle names it, with the connection params its calls carry to the auth hook. */
type Target = ({ kind: "id"; actorId: string } | { kind: "key"; name: string; key: unknown; mode: "get" | "getOrCreate"; input?: unknown }) & { params?: unknown };

// Arguments and results are copied, as over the wire, so two actors never share live objects.
const copy = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/**
 * `c.client()`: the same shape as `createClient()`, served by the manager in process.
 * `chain` lists the actors whose turns are waiting on this client's calls, the caller last.
 * A call to a non-reentrant actor in the chain would wait on its own inbox forever, so it
 * fails at once: `self_call` for the caller itself, `call_cycle` for one further up (A→B→A).
 */
export function createInProcessClient(manager: InProcessHost, chain: readonly string[]): unknown {
  const callerId = chain[chain.length - 1];
  const resolve = async (t: Target): Promise<string> => (t.kind === "id" ? t.actorId : (await manager.resolve(t.name, t.key, t.mode, t.input)).actorId);

  const call = async (t: Target, action: string, args: unknown[]): Promise<unknown> => {
    const id = await resolve(t);
    if (chain.includes(id)) {
      const inst = await manager.instance(id);
      if (id === callerId && inst.busyWithTurn) {
        throw errors.selfCall();
      }
      if (id !== callerId && !inst.type.options.reentrant) throw errors.callCycle([...chain, id]);
    }
    return copy(await manager.callAction(id, action, copy(args), { chain, params: t.params }));
  };

  const handle = (t: Target) =>
    new Proxy(
      {},
      {
        get: (_o, prop) => {
          if (typeof prop !== "string" || prop === "then" || prop === "toJSON") return undefined;
          if (prop === "resolve") return () => resolve(t);
          if (prop === "send") return async (queue: string, body: unknown, o?: { wait?: boolean; timeoutMs?: number }) => copy(await manager.sendMessage(await resolve(t), queue, copy(body), { ...o, params: t.params }));
          if (prop === "connect") return () => {
            throw errors.invalidRequest("connect() is for remote clients; inside an actor, call actions directly and use c.broadcast for events");
          };
          return (...args: unknown[]) => call(t, prop, args);
        },
      },
    );

  const accessor = (name: string) => ({
    getOrCreate: (key?: unknown, o?: { createWithInput?: unknown; params?: unknown }) => handle({ kind: "key", name, key, mode: "getOrCreate", input: o?.createWithInput, params: o?.params }),
    get: (key?: unknown, o?: { params?: unknown }) => handle({ kind: "key", name, key, mode: "get", params: o?.params }),
    getForId: (actorId: string, o?: { params?: unknown }) => handle({ kind: "id", actorId, params: o?.params }),
    create: async (key?: unknown, o?: { input?: unknown; params?: unknown }) => handle({ kind: "id", actorId: (await manager.resolve(name, key, "create", o?.input)).actorId, params: o?.params }),
  });

  return new Proxy({}, { get: (_o, prop) => (typeof prop === "string" && prop !== "then" ? accessor(prop) : undefined) });
}
