import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { actor, setup } from "../src/index.js";
import { createClient } from "../src/client/index.js";
import { quietLogger } from "./helpers/harness.js";
import { callAction } from "./helpers/wire.js";

const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, by: number = 1) => {
      c.state.count += by;
      c.broadcast("changed", c.state.count);
      return c.state.count;
    },
  },
});

test("mounted under a basePath in a user's own Hono app, with WebSockets on the user's server", async () => {
  const registry = setup({ use: { counter }, basePath: "/troupe", storage: { driver: "memory" }, logger: quietLogger });
  const app = new Hono();
  app.get("/", (c) => c.text("the user's own route"));
  app.all("/troupe/*", (c) => registry.handler(c.req.raw));
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.on("upgrade", (req, socket, head) => {
    if (!registry.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal(await (await fetch(`${base}/`)).text(), "the user's own route");
    const health = await fetch(`${base}/troupe/health`);
    assert.ok([200, 503].includes(health.status));
    await registry.start();
    assert.equal((await fetch(`${base}/troupe/health`)).status, 200);

    const client = createClient<typeof registry>(`${base}/troupe`);
    assert.equal(await client.counter.getOrCreate(["m"]).increment(2), 2);
    const conn = client.counter.getOrCreate(["m"]).connect();
    const seen: number[] = [];
    conn.on("changed", (n: number) => seen.push(n));
    assert.equal(await conn.increment(3), 5);
    assert.deepEqual(seen, [5]);
    await conn.dispose();
    const missing = await callAction(`${base}/troupe`, "x", "y");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, "not_found");
  } finally {
    await registry.shutdown();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
