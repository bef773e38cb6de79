import { actor, TroupeError, UserError } from "../../src/index.js";

// Fixture actors of RivetKit's driver suite (fixtures/driver-test-suite/) re-expressed in
// Troupe's API: the ones the handle and connection modules use. Names match RivetKit's registry,
// so the client's accessors (`client.counter`, `client.connStateActor`, ...) are the same.

/** counter.ts: a counter that broadcasts each new count as `newCount`. */
export const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, x: number) => {
      c.state.count += x;
      c.broadcast("newCount", c.state.count);
      return c.state.count;
    },
    setCount: (c, x: number) => {
      c.state.count = x;
      c.broadcast("newCount", x);
      return c.state.count;
    },
    getCount: (c) => c.state.count,
    getKey: (c) => c.key,
  },
});

type LifecycleParams = { trackLifecycle?: boolean } | undefined;

/** lifecycle.ts: records the hooks that ran, those of tracked connections only. */
export const counterWithLifecycle = actor({
  state: { count: 0, events: [] as string[] },
  createConnState: (_c, _params: LifecycleParams) => ({ joinTime: Date.now() }),
  onWake: (c) => {
    c.state.events.push("onWake");
  },
  onBeforeConnect: (c, params: LifecycleParams) => {
    if (params?.trackLifecycle) c.state.events.push("onBeforeConnect");
  },
  onConnect: (c, conn) => {
    if (conn.params?.trackLifecycle) c.state.events.push("onConnect");
  },
  onDisconnect: (c, conn) => {
    if (conn.params?.trackLifecycle) c.state.events.push("onDisconnect");
  },
  actions: {
    getEvents: (c) => c.state.events,
    increment: (c, x: number) => (c.state.count += x),
  },
});

/** conn-params.ts: names each connection from its params and records the order. */
export const counterWithParams = actor({
  state: { count: 0, initializers: [] as string[] },
  createConnState: (_c, params: { name?: string } | undefined) => ({ name: params?.name || "anonymous" }),
  onConnect: (c, conn) => {
    c.state.initializers.push(conn.state.name);
  },
  actions: {
    increment: (c, x: number) => {
      c.state.count += x;
      c.broadcast("newCount", { count: c.state.count, by: c.conn?.state.name });
      return c.state.count;
    },
    getInitializers: (c) => c.state.initializers,
  },
});

type ConnStateParams = { username?: string; role?: string; noCount?: boolean } | undefined;

/** conn-state.ts: per-connection state, the connection list, and conn-to-conn messages. */
export const connStateActor = actor({
  state: { sharedCounter: 0, disconnectionCount: 0 },
  createConnState: (_c, params: ConnStateParams) => ({
    username: params?.username || "anonymous",
    role: params?.role || "user",
    counter: 0,
    createdAt: Date.now(),
    noCount: params?.noCount ?? false,
  }),
  onConnect: (c, conn) => {
    conn.send("connectedFromOnConnect", { id: conn.id, username: conn.state.username });
    const fromConns = c.conns.get(conn.id);
    if (!fromConns) throw new Error("connection missing from c.conns in onConnect");
    fromConns.send("connectedFromOnConnectConns", { id: fromConns.id, username: fromConns.state.username });
    c.broadcast("userConnected", { id: conn.id, username: "anonymous", role: "user" });
  },
  onDisconnect: (c, conn) => {
    if (!conn.state?.noCount) {
      c.state.disconnectionCount += 1;
      c.broadcast("userDisconnected", { id: conn.id });
    }
  },
  actions: {
    incrementConnCounter: (c, amount = 1) => {
      c.conn!.state.counter += amount;
    },
    incrementSharedCounter: (c, amount = 1) => (c.state.sharedCounter += amount),
    getConnectionState: (c) => ({ id: c.conn!.id, ...c.conn!.state }),
    getConnectionIds: (c) => [...c.conns.entries()].filter(([, conn]) => !conn.state?.noCount).map(([id]) => id),
    getDisconnectionCount: (c) => c.state.disconnectionCount,
    getAllConnectionStates: (c) => [...c.conns.entries()].map(([id, conn]) => ({ id, ...conn.state })),
    sendToConnection: (c, targetId: string, message: string) => {
      const target = c.conns.get(targetId);
      if (!target) return false;
      target.send("directMessage", { from: c.conn!.id, message });
      return true;
    },
    updateConnection: (c, updates: { username?: string; role?: string }) => {
      if (updates.username) c.conn!.state.username = updates.username;
      if (updates.role) c.conn!.state.role = updates.role;
      return c.conn!.state;
    },
  },
});

type PreflightParams = { label?: string; beforeDelayMs?: number; createDelayMs?: number; rejectBefore?: boolean; rejectCreate?: boolean } | undefined;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labels = (conns: ReadonlyMap<string, { state: unknown }>) => [...conns.values()].map((conn) => (conn.state as { label?: string } | undefined)?.label ?? null);

/** conn-preflight-visibility.ts: what c.conns shows while a connection is being admitted. */
export const connPreflightVisibilityActor = actor({
  state: {
    beforeStarted: 0,
    createStarted: 0,
    beforeVisibleLabels: [] as Array<Array<string | null>>,
    createVisibleLabels: [] as Array<Array<string | null>>,
    connectSnapshots: [] as Array<{ label: string; ownVisible: boolean; visibleLabels: Array<string | null> }>,
    disconnectSnapshots: [] as Array<{ label: string | null; otherLabels: Array<string | null> }>,
  },
  createConnState: async (c, params: PreflightParams) => {
    c.state.createStarted += 1;
    c.state.createVisibleLabels.push(labels(c.conns));
    if (params?.createDelayMs) await delay(params.createDelayMs);
    if (params?.rejectCreate) throw new Error("rejected create conn state");
    return { label: params?.label ?? "anonymous" };
  },
  onBeforeConnect: async (c, params: PreflightParams) => {
    c.state.beforeStarted += 1;
    c.state.beforeVisibleLabels.push(labels(c.conns));
    if (params?.beforeDelayMs) await delay(params.beforeDelayMs);
    if (params?.rejectBefore) throw new Error("rejected before connect");
  },
  onConnect: (c, conn) => {
    c.state.connectSnapshots.push({ label: conn.state.label, ownVisible: c.conns.has(conn.id), visibleLabels: labels(c.conns) });
  },
  onDisconnect: (c, conn) => {
    c.state.disconnectSnapshots.push({ label: conn.state?.label ?? null, otherLabels: labels(new Map([...c.conns].filter(([id]) => id !== conn.id))) });
  },
  actions: {
    snapshot: (c) => ({ ...c.state, visibleLabels: labels(c.conns) }),
  },
});

const ITEM = (i: number) => `Item ${i} with some additional text to increase size`;

/** large-payloads.ts, stateless half. */
export const largePayloadActor = actor({
  state: {},
  actions: {
    processLargeRequest: (_c, data: { items: string[] }) => ({ itemCount: data.items.length, firstItem: data.items[0], lastItem: data.items.at(-1) }),
    getLargeResponse: (_c, itemCount: number) => ({ items: Array.from({ length: itemCount }, (_, i) => ITEM(i)) }),
    echo: (_c, data: unknown) => data,
  },
});

/** large-payloads.ts, connection half: remembers the last request size in the conn state. */
export const largePayloadConnActor = actor({
  state: {},
  connState: { lastRequestSize: 0 },
  actions: {
    processLargeRequest: (c, data: { items: string[] }) => {
      c.conn!.state.lastRequestSize = data.items.length;
      return { itemCount: data.items.length, firstItem: data.items[0], lastItem: data.items.at(-1) };
    },
    getLargeResponse: (_c, itemCount: number) => ({ items: Array.from({ length: itemCount }, (_, i) => ITEM(i)) }),
    getLastRequestSize: (c) => c.conn!.state.lastRequestSize,
  },
});

/**
 * conn-error-serialization.ts: createConnState throws an error of group `connection`, code
 * `custom_error` (RivetKit's public ActorError subclass; Troupe's TroupeError is the same shape).
 */
export const connErrorSerializationActor = actor({
  state: { value: 0 },
  createConnState: (_c, params: { shouldThrow?: boolean } | undefined) => {
    if (params?.shouldThrow) throw new TroupeError("connection", "custom_error", "Test error from createConnState", { status: 400 });
    return { initialized: true };
  },
  actions: {
    getValue: (c) => c.state.value,
  },
});

/** lifecycle-hooks.ts: onBeforeConnect refusing with a UserError. */
export const beforeConnectRejectActor = actor({
  onBeforeConnect: async (_c, params: { shouldReject?: boolean } | undefined) => {
    if (params?.shouldReject) throw new UserError("Connection rejected by policy", { code: "connection_rejected", metadata: { reason: "test" } });
  },
  actions: { ping: () => "pong" },
});

/** lifecycle-hooks.ts: onBeforeConnect refusing with a plain Error. */
export const beforeConnectGenericErrorActor = actor({
  onBeforeConnect: async (_c, params: { shouldFail?: boolean } | undefined) => {
    if (params?.shouldFail) throw new Error("internal failure in onBeforeConnect");
  },
  actions: { ping: () => "pong" },
});

export const connFixtures = {
  counter,
  counterWithLifecycle,
  counterWithParams,
  connStateActor,
  connPreflightVisibilityActor,
  largePayloadActor,
  largePayloadConnActor,
  connErrorSerializationActor,
  beforeConnectRejectActor,
  beforeConnectGenericErrorActor,
};
