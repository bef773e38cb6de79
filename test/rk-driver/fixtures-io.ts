import { Hono } from "hono";
import { actor, UserError } from "../../src/index.js";

// Fixture actors of RivetKit's driver suite (fixtures/driver-test-suite/) re-expressed in
// Troupe's API: raw HTTP and WebSockets, KV, schedule, destroy and access control.

/** A request's headers as a plain object (names lower-cased). */
function headerObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => (out[key] = value));
  return out;
}

/** raw-http.ts: a few endpoints and a request counter. */
export const rawHttpActor = actor({
  state: { requestCount: 0 },
  onRequest: async (c, request) => {
    const url = new URL(request.url);
    c.state.requestCount++;
    if (url.pathname === "/api/hello") return Response.json({ message: "Hello from actor!" });
    if (url.pathname === "/api/echo" && request.method === "POST") return new Response(await request.arrayBuffer(), { headers: request.headers });
    if (url.pathname === "/api/state") return Response.json({ requestCount: c.state.requestCount });
    if (url.pathname === "/api/headers") return Response.json(headerObject(request.headers));
    return new Response("Not Found", { status: 404 });
  },
  actions: {},
});

export const rawHttpNoHandlerActor = actor({ actions: {} });

/** onRequest answers nothing: RivetKit answers 500 "onRequest handler must return a Response". */
export const rawHttpVoidReturnActor = actor({
  onRequest: () => undefined as unknown as Response,
  actions: {},
});

/** A Hono router built in createVars, serving onRequest. */
export const rawHttpHonoActor = actor({
  createVars: () => {
    const router = new Hono();
    router.get("/", (c) => c.json({ message: "Welcome to Hono actor!" }));
    router.get("/users", (c) => c.json([{ id: 1, name: "Alice" }, { id: 2, name: "Bob" }]));
    router.get("/users/:id", (c) => {
      const id = c.req.param("id");
      return c.json({ id: Number.parseInt(id, 10), name: id === "1" ? "Alice" : "Bob" });
    });
    router.post("/users", async (c) => c.json({ id: 3, ...(await c.req.json()) }, 201));
    router.put("/users/:id", async (c) => c.json({ id: Number.parseInt(c.req.param("id"), 10), ...(await c.req.json()) }));
    router.delete("/users/:id", (c) => c.json({ message: `User ${c.req.param("id")} deleted` }));
    return { router };
  },
  onRequest: (c, request) => c.vars.router.fetch(request),
  actions: {},
});

/** raw-http-request-properties.ts: echoes what onRequest saw of the request. */
export const rawHttpRequestPropertiesActor = actor({
  actions: {},
  onRequest: async (_c, request) => {
    const url = new URL(request.url);
    if (request.method === "HEAD") return new Response(null, { status: 200 });
    if (request.method === "OPTIONS") return new Response(null, { status: 204 });
    const headers = headerObject(request.headers);
    let body: unknown = null;
    if (request.body) {
      const text = await request.text();
      if ((request.headers.get("content-type") ?? "").includes("application/json")) {
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          body = null;
        }
      } else body = text || null;
    }
    return Response.json({
      url: request.url,
      pathname: url.pathname,
      search: url.search,
      searchParams: Object.fromEntries(url.searchParams.entries()),
      hash: url.hash,
      method: request.method,
      headers,
      body,
      bodyText: typeof body === "string" ? body : body === null && request.body !== null ? "" : null,
    });
  },
});

/** raw-websocket.ts: a welcome, echo, ping/pong, stats and the request URL. */
export const rawWebSocketActor = actor({
  state: { connectionCount: 0, messageCount: 0 },
  onWebSocket: (c, socket, request) => {
    c.state.connectionCount += 1;
    socket.send(JSON.stringify({ type: "welcome", connectionCount: c.state.connectionCount }));
    socket.onMessage((data) => {
      c.state.messageCount += 1;
      if (typeof data !== "string") return socket.send(data);
      let parsed: { type?: string } | undefined;
      try {
        parsed = JSON.parse(data);
      } catch {
        return socket.send(data);
      }
      if (parsed?.type === "ping") socket.send(JSON.stringify({ type: "pong", timestamp: Date.now() }));
      else if (parsed?.type === "getStats") socket.send(JSON.stringify({ type: "stats", connectionCount: c.state.connectionCount, messageCount: c.state.messageCount }));
      else if (parsed?.type === "getRequestInfo") socket.send(JSON.stringify({ type: "requestInfo", url: request.url }));
      else socket.send(data);
    });
    socket.onClose(() => {
      c.state.connectionCount -= 1;
    });
  },
  actions: {
    getStats: (c) => ({ connectionCount: c.state.connectionCount, messageCount: c.state.messageCount }),
  },
});

export const rawWebSocketBinaryActor = actor({
  onWebSocket: (_c, socket) => {
    socket.onMessage((data) => {
      if (typeof data !== "string") socket.send(Uint8Array.from(data).reverse());
    });
  },
  actions: {},
});

/** An async onWebSocket; `sleep` is RivetKit's force-sleep, done here by the actor itself. */
export const rawWebSocketAsyncOpenActor = actor({
  state: { openCount: 0 },
  onWebSocket: async (c, socket) => {
    c.state.openCount += 1;
    await new Promise((r) => setTimeout(r, 10));
    socket.send(JSON.stringify({ type: "async-open", openCount: c.state.openCount }));
  },
  actions: {
    getOpenCount: (c) => c.state.openCount,
    sleep: (c) => c.sleep(),
  },
});

/** RivetKit gives onWebSocket a connection (`c.conn`) with its own state. */
export const rawWebSocketConnContextActor = actor({
  onWebSocket: (c, socket) => {
    const conn = (c as unknown as { conn?: { id: string; state: unknown } }).conn;
    const connId = conn?.id;
    if (conn) conn.state = { opened: true, connId };
    socket.send(JSON.stringify({ type: "conn-context", connId, state: conn?.state }));
  },
  actions: {},
});

/** kv.ts: text values, range scans and deletes, and bytes. */
export const kvActor = actor({
  actions: {
    putText: async (c, key: string, value: string) => {
      await c.kv.put(key, value);
      return true;
    },
    getText: async (c, key: string) => (await c.kv.get<string>(key)) ?? null,
    listText: async (c, prefix: string) => (await c.kv.list<string>({ prefix })).map(([key, value]) => ({ key, value })),
    listTextRange: async (c, start: string, end: string, options?: { reverse?: boolean; limit?: number }) =>
      (await c.kv.list<string>({ start, end, ...options })).map(([key, value]) => ({ key, value })),
    // RivetKit's deleteRange(start, end): Troupe lists the range and deletes it in one batch.
    deleteTextRange: async (c, start: string, end: string) => {
      await c.kv.deleteBatch((await c.kv.list({ start, end })).map(([k]) => k));
      return true;
    },
    roundtripArrayBuffer: async (c, key: string, values: number[]) => {
      await c.kv.put(key, new Uint8Array(values));
      const result = await c.kv.get<Uint8Array>(key);
      return result ? Array.from(result) : null;
    },
  },
});

/** scheduled.ts: alarms by time and by delay, and their order. */
export const scheduled = actor({
  state: { lastRun: 0, scheduledCount: 0, taskHistory: [] as string[] },
  actions: {
    scheduleTaskAt: (c, timestamp: number) => {
      c.schedule.at(timestamp, "onScheduledTask");
      return timestamp;
    },
    scheduleTaskAfter: (c, delayMs: number) => {
      c.schedule.after(delayMs, "onScheduledTask");
      return Date.now() + delayMs;
    },
    scheduleTaskAfterWithId: (c, taskId: string, delayMs: number) => {
      c.schedule.after(delayMs, "onScheduledTaskWithId", taskId);
      return { taskId, scheduledFor: Date.now() + delayMs };
    },
    getLastRun: (c) => c.state.lastRun,
    getScheduledCount: (c) => c.state.scheduledCount,
    getTaskHistory: (c) => c.state.taskHistory,
    clearHistory: (c) => {
      c.state.taskHistory = [];
      c.state.scheduledCount = 0;
      c.state.lastRun = 0;
      return true;
    },
    onScheduledTask: (c) => {
      c.state.lastRun = Date.now();
      c.state.scheduledCount++;
      c.broadcast("scheduled", { time: c.state.lastRun, count: c.state.scheduledCount });
    },
    onScheduledTaskWithId: (c, taskId: string) => {
      c.state.lastRun = Date.now();
      c.state.scheduledCount++;
      c.state.taskHistory.push(taskId);
      c.broadcast("scheduledWithId", { taskId, time: c.state.lastRun, count: c.state.scheduledCount });
    },
  },
});

/** scheduled-db.ts: an alarm writing to the actor's database. */
export const scheduledDb = actor({
  state: { scheduledCount: 0 },
  db: { migrations: ["CREATE TABLE scheduled_log (id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, created_at INTEGER NOT NULL)"] },
  actions: {
    scheduleDbWrite: (c, delayMs: number) => {
      c.schedule.after(delayMs, "onScheduledDbWrite");
    },
    onScheduledDbWrite: (c) => {
      c.state.scheduledCount++;
      c.db.run("INSERT INTO scheduled_log (action, created_at) VALUES ('scheduled', ?)", [Date.now()]);
    },
    getLogCount: (c) => c.db.query<{ count: number }>("SELECT COUNT(*) AS count FROM scheduled_log")[0]!.count,
    getScheduledCount: (c) => c.state.scheduledCount,
  },
});

export type AccessControlParams = { allowRequest?: boolean; allowWebSocket?: boolean } | undefined;

/**
 * access-control.ts, the parts Troupe has: onBeforeConnect refusing raw requests and sockets
 * (RivetKit's forbiddenError is `forbidden`), a declared queue, and broadcasts of any event.
 */
export const accessControlActor = actor({
  state: {},
  queues: { allowedQueue: {} },
  onBeforeConnect: (_c, params: AccessControlParams) => {
    if (params?.allowRequest === false || params?.allowWebSocket === false) throw new UserError("Forbidden", { code: "forbidden", status: 403 });
  },
  onRequest: (_c, request) => (new URL(request.url).pathname === "/status" ? Response.json({ ok: true }) : new Response("Not Found", { status: 404 })),
  onWebSocket: (_c, socket) => socket.send(JSON.stringify({ type: "welcome" })),
  actions: {
    allowedAction: (_c, value: string) => `allowed:${value}`,
    allowedReceiveQueue: async (c) => (await c.queue.next<{ value: string }>("allowedQueue", { timeoutMs: 0 }))?.body ?? null,
    allowedBroadcastUndefinedEvent: (c, value: string) => c.broadcast("undefinedEvent", { value }),
  },
});

/** access-control.ts: an actor that declares no queues. */
export const accessControlNoQueuesActor = actor({
  state: {},
  actions: { ping: () => "pong" },
});

export const ioFixtures = {
  rawHttpActor,
  rawHttpNoHandlerActor,
  rawHttpVoidReturnActor,
  rawHttpHonoActor,
  rawHttpRequestPropertiesActor,
  rawWebSocketActor,
  rawWebSocketBinaryActor,
  rawWebSocketAsyncOpenActor,
  rawWebSocketConnContextActor,
  kvActor,
  scheduled,
  scheduledDb,
  accessControlActor,
  accessControlNoQueuesActor,
};

/** destroy.ts: records which actors ran onDestroy. */
export const destroyObserver = actor({
  state: { destroyedActors: [] as string[] },
  actions: {
    notifyDestroyed: (c, actorKey: string) => {
      c.state.destroyedActors.push(actorKey);
    },
    wasDestroyed: (c, actorKey: string) => c.state.destroyedActors.includes(actorKey),
    reset: (c) => {
      c.state.destroyedActors = [];
    },
  },
});

/** destroy.ts: an actor reachable every way (actions, queue, raw HTTP and WebSocket) that can be destroyed. */
export const destroyActor = actor({
  state: { value: 0, key: "" },
  createVars: () => ({ ephemeral: "fresh" }),
  queues: { values: {} },
  onWake: (c) => {
    c.state.key = c.key.join("/");
  },
  onRequest: (c, request) =>
    new URL(request.url).pathname === "/state" ? Response.json({ key: c.state.key, value: c.state.value }) : new Response("Not Found", { status: 404 }),
  onWebSocket: (c, socket) => socket.send(JSON.stringify({ type: "welcome", key: c.state.key, value: c.state.value })),
  onDestroy: async (c) => {
    await (c.client() as any).destroyObserver.getOrCreate(["observer"]).notifyDestroyed(c.state.key);
  },
  actions: {
    // RivetKit's saveState({ immediate: true }) is what every Troupe turn does on commit.
    setValue: (c, value: number) => (c.state.value = value),
    getValue: (c) => c.state.value,
    setEphemeral: (c, value: string) => (c.vars.ephemeral = value),
    getEphemeral: (c) => c.vars.ephemeral,
    receiveValue: async (c) => (await c.queue.next<number>("values", { timeoutMs: 0 }))?.body ?? null,
    destroy: (c) => c.destroy(),
  },
});

export const destroyFixtures = { destroyObserver, destroyActor };
