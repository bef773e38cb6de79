import assert from "node:assert/strict";
import { test } from "node:test";
import { actor } from "../src/index.js";
import { startServer, tempDir, waitFor } from "./helpers/harness.js";

// A live actor's key resolves from the live set's index instead of the directory (see
// docs/ARCHITECTURE.md). The index shares one entry between keys it files under the same string:
// one key in two actor types, and a one-part key whose text is another key's JSON form.

const slept: string[] = [];
const shape = {
  state: {},
  onSleep: (c: { key: readonly string[] }) => void slept.push(JSON.stringify(c.key)),
  actions: {
    id: (c: { actorId: string }) => c.actorId,
    nap: (c: { sleep(): void }) => c.sleep(),
  },
};
const cart = actor(shape);
const profile = actor(shape);

test("live actors resolve by key to their own actor: one key in two types, multi-part keys, after a sleep", async () => {
  for (const driver of ["memory", "sqlite"] as const) {
    const h = await startServer({ use: { cart, profile }, storage: driver === "sqlite" ? { driver, dataDir: tempDir() } : { driver } });
    try {
      const keys: string[][] = [["u1"], ["a", "b"], ['["a","b"]'], [], ["[]"], ["a"]];
      const first = new Map<string, string>();
      for (const type of ["cart", "profile"] as const)
        for (const key of keys) first.set(`${type} ${JSON.stringify(key)}`, await h.client[type].getOrCreate(key).id());
      assert.equal(new Set(first.values()).size, first.size, `${driver}: every (type, key) has an actor of its own`);

      // All live now: asked again, by the Troupe client and by key on the gateway, each key finds its own.
      for (let round = 0; round < 2; round++)
        for (const [what, id] of first) {
          const [type, keyText] = [what.slice(0, what.indexOf(" ")), what.slice(what.indexOf(" ") + 1)] as ["cart" | "profile", string];
          const key = JSON.parse(keyText) as string[];
          assert.equal(await h.client[type].getOrCreate(key).id(), id, `${driver}: ${what} by the client`);
          if (key.length === 0 || key.some((k) => k.includes(","))) continue; // plain rvt-key text cannot name these
          const rvtKey = key.map(encodeURIComponent).join(",");
          const res = await fetch(`${h.url}/gateway/${type}/action/id?rvt-method=get&rvt-key=${rvtKey}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"args":[]}' });
          assert.deepEqual(await res.json(), { output: id }, `${driver}: ${what} by key on the gateway`);
        }

      // Asleep, the key is the directory's again, and still names the same actor.
      slept.length = 0;
      await h.client.cart.getOrCreate(["u1"]).nap();
      await waitFor(() => slept.includes('["u1"]'), 2000, "cart u1 to sleep");
      assert.equal(await h.client.cart.getOrCreate(["u1"]).id(), first.get('cart ["u1"]'), `${driver}: after a sleep`);
      assert.equal(await h.client.profile.getOrCreate(["u1"]).id(), first.get('profile ["u1"]'), `${driver}: the other type's actor of that key`);
    } finally {
      await h.close();
    }
  }
});
