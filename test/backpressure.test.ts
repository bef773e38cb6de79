import assert from "node:assert/strict";
import { test } from "node:test";
import { actor } from "../src/index.js";
import { startServer } from "./helpers/harness.js";
import { WireConn } from "./helpers/wire.js";

const firehose = actor({
  state: {},
  actions: {
    blast: (c, n: number, size: number) => {
      const chunk = "x".repeat(size);
      for (let i = 0; i < n; i++) c.broadcast("data", chunk);
      return n;
    },
  },
});

test("a client that stops reading is cut off at the buffer cap with a reason; others keep working", async () => {
  const h = await startServer({ use: { firehose } });
  try {
    const id = await h.client.firehose.getOrCreate(["f"]).resolve();
    const conn = new WireConn(h.url, id);
    await conn.ready();
    const slow = conn.ws;
    const closed = conn.closed;
    conn.subscribe("data");
    await new Promise((r) => setTimeout(r, 50));
    // Stop reading: the kernel buffers fill, then the server's own buffer grows past its cap.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    const healthy = h.client.firehose.getOrCreate(["f"]).connect();
    await healthy.ready();
    const memBefore = process.memoryUsage().rss;
    for (let i = 0; i < 40; i++) await healthy.blast(50, 64 * 1024);
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    const info = await closed;
    assert.equal(info.code, 1008);
    assert.match(info.reason, /^connection\.backpressure#/);
    assert.ok(process.memoryUsage().rss - memBefore < 512 * 1024 * 1024, "server memory stayed bounded");
    assert.equal(await healthy.blast(1, 10), 1, "the healthy connection is unaffected");
    await healthy.dispose();
  } finally {
    await h.close();
  }
});
