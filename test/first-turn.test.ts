import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor } from "../src/index.js";
import type { ActorError } from "../src/client/index.js";
import { MemoryStore } from "../src/storage/memory-store.js";
import { GroupCommitter } from "../src/storage/group-commit.js";
import { EmbeddedPlacement } from "../src/storage/embedded-placement.js";
import { cbor } from "../src/actor/state-codec.js";
import { startServer } from "./helpers/harness.js";

// create() is the instance's own first turn: the actor is entered in the directory first, and
// its first turn (createState, onCreate, createVars, onWake) commits its first state.
const seen: Array<{ key: string; hook: string; input: unknown }> = [];

const room = actor({
  createState: (c, input: { title: string; fail?: "createState" | "onWake" }) => {
    seen.push({ key: c.key[0]!, hook: "createState", input });
    if (input?.fail === "createState") throw new Error("createState failed");
    return { title: input?.title ?? "untitled", wakes: 0 };
  },
  onCreate: (c, input) => {
    seen.push({ key: c.key[0]!, hook: "onCreate", input });
  },
  onWake: (c) => {
    c.state.wakes++;
    if (c.state.title === "fails on wake") throw new Error("onWake failed");
  },
  actions: {
    read: (c) => c.state,
  },
});

const noDb = actor({
  state: {},
  actions: { query: (c) => c.db.query("SELECT 1") },
});

describe("the first turn", () => {
  test("an actor entered in the directory whose first turn never committed is created by its next start, with its input", async () => {
    const store = new MemoryStore();
    await store.open();
    // A crash between entering the actor and its first commit leaves exactly this behind.
    const committer = new GroupCommitter(store);
    const entered = await new EmbeddedPlacement(store, committer).create({ name: "room", key: ["orphan"], input: cbor.encode({ title: "from input" }) });
    assert.equal(entered.created, true);
    assert.equal(await store.loadState(entered.record.id), undefined, "no state before the first turn");
    const h = await startServer({ use: { room }, storage: store });
    try {
      const state = await h.client.room.getForId(entered.record.id).read();
      assert.deepEqual(state, { title: "from input", wakes: 1 });
      assert.deepEqual(seen.filter((s) => s.key === "orphan").map((s) => [s.hook, s.input]), [
        ["createState", { title: "from input" }],
        ["onCreate", { title: "from input" }],
      ]);
      assert.ok(await store.loadState(entered.record.id), "the first turn committed the state");
      // A later start is a wake: createState does not run again.
      const again = await h.client.room.getOrCreate(["orphan"]).read();
      assert.equal(again.title, "from input");
      assert.equal(seen.filter((s) => s.key === "orphan" && s.hook === "createState").length, 1);
    } finally {
      await h.close();
    }
  });

  test("a creation whose first turn throws leaves no actor and frees the key; createState or onWake alike", async () => {
    const store = new MemoryStore();
    const h = await startServer({ use: { room }, storage: store });
    try {
      await assert.rejects(h.client.room.create(["bad"], { input: { title: "x", fail: "createState" } }), (e: ActorError) => e.code === "internal_error");
      assert.equal(await store.findByKey("room", ["bad"]), undefined, "no directory entry is left");
      await assert.rejects(h.client.room.getOrCreate(["wake"], { createWithInput: { title: "fails on wake" } }).read(), (e: ActorError) => e.code === "internal_error");
      assert.equal(await store.findByKey("room", ["wake"]), undefined);
      // The keys are free: a good creation takes them.
      const ok = await h.client.room.create(["bad"], { input: { title: "good" } });
      assert.equal((await ok.read()).title, "good");
      assert.equal((await store.listActors({ limit: 10 })).length, 1);
    } finally {
      await h.close();
    }
  });

  test("c.db in a type that declares no database is refused with what to fix", async () => {
    const h = await startServer({ use: { noDb } });
    try {
      await assert.rejects(h.client.noDb.getOrCreate(["a"]).query(), (e: ActorError) => e.code === "sql_unavailable" && /db: \{ migrations/.test(e.message));
    } finally {
      await h.close();
    }
  });
});

// A getOrCreate and an action in one request (RivetKit's clients send them so): the new actor
// takes the action as soon as its first turn ran, and the reply waits for both commits.
const tally = actor({
  state: { n: 0 },
  actions: { bump: (c) => ++c.state.n },
});

/** A memory store whose commits wait until released, or fail once when told to. */
class HeldStore extends MemoryStore {
  held: Array<() => void> | undefined;
  failNext = false;
  commits = 0;
  override async write(batch: Parameters<MemoryStore["write"]>[0]): Promise<void> {
    if (this.held) await new Promise<void>((r) => this.held!.push(r));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("disk refused the commit");
    }
    this.commits++;
    return super.write(batch);
  }
}

async function bumpByKey(url: string, key: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/gateway/tally/action/bump?rvt-method=getOrCreate&rvt-key=${key}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-rivet-encoding": "json" },
    body: JSON.stringify({ args: [] }),
  });
  return { status: res.status, body: await res.json() };
}

describe("creating with the first call in one request", () => {
  test("the reply waits until the creation and the call are durable, and they share one commit", async () => {
    const store = new HeldStore();
    const h = await startServer({ use: { tally }, storage: store });
    try {
      store.held = [];
      const before = store.commits;
      let answered = false;
      const reply = bumpByKey(h.url, "k1").then((r) => ((answered = true), r));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(answered, false, "no reply while the commit is held");
      assert.equal(await store.findByKey("tally", ["k1"]), undefined, "nothing stored yet");
      const waiting = store.held.splice(0);
      store.held = undefined;
      waiting.forEach((r) => r());
      const r = await reply;
      assert.equal(r.status, 200);
      assert.equal(r.body.output, 1);
      const entry = await store.findByKey("tally", ["k1"]);
      assert.ok(entry, "the actor is stored once the reply left");
      assert.deepEqual(cbor.decode((await store.loadState(entry.id))!), { n: 1 }, "the call's state is stored with it");
      assert.equal(store.commits - before, 1, "the creation and the call made one commit");
    } finally {
      await h.close();
    }
  });

  test("a refused commit of the creation fails the call, stores nothing and frees the key", async () => {
    const store = new HeldStore();
    const h = await startServer({ use: { tally }, storage: store, metrics: { token: "t" } });
    try {
      store.failNext = true;
      const failed = await bumpByKey(h.url, "k2");
      assert.equal(failed.status, 500);
      assert.equal(await store.findByKey("tally", ["k2"]), undefined, "no directory entry is left");
      const ok = await bumpByKey(h.url, "k2");
      assert.equal(ok.status, 200);
      assert.equal(ok.body.output, 1, "a fresh actor, not the failed one's state");
      const metrics = await (await fetch(`${h.url}/metrics`, { headers: { authorization: "Bearer t" } })).text();
      assert.match(metrics, /troupe_actors_active\{actor_name="tally"\} 1\n/, "the failed creation left the live gauge as it found it");
    } finally {
      await h.close();
    }
  });
});
