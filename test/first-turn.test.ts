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
