import assert from "node:assert/strict";
import { test } from "node:test";
import { MANY_QUEUE_NAMES, manyQueueFixtures, queueFixtures } from "./rk-driver/fixtures-queue.js";
import { describeDriverMatrix, T, setupDriverTest, sleep } from "./rk-driver/harness.js";

// Port of RivetKit's driver suite module actor-queue (tests/driver/actor-queue.test.ts): queue
// sends of the real rivetkit 2.3.19 client (`handle.send`, with and without `wait`) and what the
// actor reads of them. Cases about RivetKit's consumer API (abort signals, iterators, completable
// messages, per-actor queue limits) are not ported: see the module table in docs/PROTOCOL.md.

describeDriverMatrix("RivetKit driver: actor queue", (encoding) => {
  const setup = (t: Parameters<typeof setupDriverTest>[0]) => setupDriverTest(t, queueFixtures, encoding);

  test("a client send is read by the actor", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.queueActor.getOrCreate(["client-send"]);
    await handle.send("greeting", { hello: "world" });
    assert.deepEqual(await handle.receiveOne("greeting"), { name: "greeting", body: { hello: "world" } });
  });

  test("an actor can send to its own queue", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.queueActor.getOrCreate(["self-send"]);
    await handle.sendToSelf("self", { value: 42 });
    assert.deepEqual(await handle.receiveOne("self"), { name: "self", body: { value: 42 } });
  });

  test("messages of several named queues, up to a count, in send order", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.queueActor.getOrCreate(["receive-array"]);
    await handle.send("a", 1);
    await handle.send("b", 2);
    await handle.send("c", 3);
    assert.deepEqual(await handle.receiveMany(["a", "b"], { count: 2 }), [
      { name: "a", body: 1 },
      { name: "b", body: 2 },
    ]);
  });

  test("a request object names the queues and the count", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.queueActor.getOrCreate(["receive-request"]);
    await handle.send("one", "first");
    await handle.send("two", "second");
    assert.deepEqual(await handle.receiveRequest({ names: ["one", "two"], count: 2 }), [
      { name: "one", body: "first" },
      { name: "two", body: "second" },
    ]);
  });

  test("without names, every queue is read", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.queueActor.getOrCreate(["receive-request-all"]);
    await handle.send("one", "first");
    await handle.send("two", "second");
    assert.deepEqual(await handle.receiveRequest({ count: 2 }), [
      { name: "one", body: "first" },
      { name: "two", body: "second" },
    ]);
  });

  test("a read that times out returns nothing", T, async (t) => {
    const { client } = await setup(t);
    assert.deepEqual(await client.queueActor.getOrCreate(["receive-timeout"]).receiveMany(["missing"], { timeout: 50 }), []);
  });

  test("a read that does not wait returns nothing at once", T, async (t) => {
    const { client } = await setup(t);
    assert.deepEqual(await client.queueActor.getOrCreate(["try-next-empty"]).tryReceiveMany({ names: ["missing"], count: 1 }), []);
  });

  test("a send with wait returns the result it was completed with", T, async (t) => {
    const { client } = await setup(t);
    const result = await client.queueActor.getOrCreate(["wait-complete"]).send("tasks", { value: 123 }, { wait: true, timeout: 5000 });
    assert.deepEqual(result, { status: "completed", response: { echo: { value: 123 } } });
  });

  // Where Troupe differs (docs/PROTOCOL.md): a queue without a handler is read with
  // c.queue.next(), whose messages are not completed with a result, so a waiting sender could only
  // ever time out. RivetKit lets it wait and answers timedOut; Troupe refuses the wait at once and
  // stores nothing, and a send without wait is queued as usual.
  test("Troupe differs: a send with wait on a queue nobody completes is refused at once (request/invalid_request)", T, async (t) => {
    const { client } = await setup(t);
    const handle = client.queueActor.getOrCreate(["wait-timeout"]);
    const started = Date.now();
    const err = await handle.send("timeout", { value: 456 }, { wait: true, timeout: 5_000 }).then(() => undefined, (e: any) => e);
    assert.deepEqual([err?.group, err?.code], ["request", "invalid_request"]);
    assert.match(String(err?.message), /no handler/);
    assert.ok(Date.now() - started < 4_000, "refused, not waited out");
    assert.equal(await handle.send("timeout", { value: 457 }), undefined, "without wait the send is queued");
  });

  test("Troupe differs: the same for a queue whose messages carry no completion result", T, async (t) => {
    const { client } = await setup(t);
    const err = await client.queueActor.getOrCreate(["missing-completion-schema"]).send("nowait", { value: "test" }, { wait: true, timeout: 50 }).then(() => undefined, (e: any) => e);
    assert.deepEqual([err?.group, err?.code], ["request", "invalid_request"]);
  });

  test("a child created from an action drains 128 sends over 32 queues (`cmd.0`…`cmd.31`) while connected", T, async (t) => {
    const { client } = await setupDriverTest(t, manyQueueFixtures, encoding);
    assert.deepEqual(await client.manyQueueActionParentActor.getOrCreate(["many-action-parent"]).spawnChild("many-action-child"), { key: "many-action-child" });
    const child = client.manyQueueChildActor.getOrCreate(["many-action-child"]);
    const conn = child.connect();
    try {
      assert.equal((await conn.ping()).pong, true);
      const total = MANY_QUEUE_NAMES.length * 4;
      await Promise.all(Array.from({ length: total }, (_, i) => child.send(MANY_QUEUE_NAMES[i % MANY_QUEUE_NAMES.length], { index: i })));
      let snapshot = await child.getSnapshot();
      for (let i = 0; i < 60 && snapshot.processed.length < total; i++) {
        await sleep(100);
        snapshot = await child.getSnapshot();
      }
      assert.equal(snapshot.started, true);
      assert.equal(snapshot.processed.length, total);
      assert.deepEqual(new Set(snapshot.processed), new Set(MANY_QUEUE_NAMES));
      assert.deepEqual(await child.send(MANY_QUEUE_NAMES[0], { index: total }, { wait: true, timeout: 1000 }), { status: "completed", response: { ok: true, index: total } });
    } finally {
      await conn.dispose().catch(() => undefined);
    }
  });
});
