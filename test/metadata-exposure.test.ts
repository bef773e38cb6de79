import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actor, VERSION } from "../src/index.js";
import { startServer } from "./helpers/harness.js";

// What /metadata and /health show, over real HTTP, for each `metadata.public` setting and each
// kind of request: the truth table of docs/ROUTES.md, row by row.
const INSPECTOR = "meta-inspector-token-0123";
const METRICS = "meta-metrics-token-4567";

const counter = actor({ state: { n: 0 }, actions: { inc: (c) => ++c.state.n, get: (c) => c.state.n } });
const room = actor({ state: {}, actions: { say: () => true } });

const FULL = { runtime: "troupe", version: VERSION, mode: "memory", protocolVersion: 1, actorNames: { counter: { actions: ["inc", "get"] }, room: { actions: ["say"] } } };
const NAMES = { runtime: "troupe", mode: "memory", protocolVersion: 1, actorNames: { counter: {}, room: {} } };
const NONE = { runtime: "troupe", protocolVersion: 1 };

type Ask = "no token" | "inspector token" | "wrong token" | "metrics token" | "another scheme";
const headersFor: Record<Ask, Record<string, string>> = {
  "no token": {},
  "inspector token": { authorization: `Bearer ${INSPECTOR}` },
  "wrong token": { authorization: `Bearer ${INSPECTOR}x` },
  "metrics token": { authorization: `Bearer ${METRICS}` },
  "another scheme": { authorization: `Basic ${INSPECTOR}` },
};

// [public setting, request, /metadata status, /metadata body, /health shows the version]
const table: Array<["default" | "full" | "names" | "none", Ask, number, object | null, boolean]> = [
  ["default", "no token", 200, NAMES, false],
  ["default", "inspector token", 200, FULL, true],
  ["default", "wrong token", 401, null, false],
  ["default", "metrics token", 401, null, false],
  ["default", "another scheme", 401, null, false],
  ["names", "no token", 200, NAMES, false],
  ["names", "inspector token", 200, FULL, true],
  ["none", "no token", 200, NONE, false],
  ["none", "inspector token", 200, FULL, true],
  ["none", "wrong token", 401, null, false],
  ["full", "no token", 200, FULL, true],
  ["full", "inspector token", 200, FULL, true],
  // Everything is public: a header is not even looked at.
  ["full", "wrong token", 200, FULL, true],
];

describe("metadata exposure with an inspector token configured", () => {
  for (const setting of ["default", "names", "none", "full"] as const) {
    test(`metadata.public ${setting}`, async () => {
      const h = await startServer({
        use: { counter, room },
        inspector: { token: INSPECTOR },
        metrics: { token: METRICS },
        ...(setting === "default" ? {} : { metadata: { public: setting } }),
      });
      try {
        for (const [, ask, status, body, version] of table.filter((r) => r[0] === setting)) {
          const meta = await fetch(`${h.url}/metadata`, { headers: headersFor[ask] });
          assert.equal(meta.status, status, `${ask}: /metadata status`);
          const text = await meta.text();
          if (body) assert.deepEqual(JSON.parse(text), body, `${ask}: /metadata body`);
          else assert.match(meta.headers.get("www-authenticate")!, /^Bearer realm="troupe-inspector", error="invalid_token"/, `${ask}: challenge`);
          assert.ok(!text.includes(INSPECTOR) && !text.includes(METRICS), "no token in a body");
          assert.equal(meta.headers.get("cache-control"), "no-store");

          const health = await fetch(`${h.url}/health`, { headers: headersFor[ask] });
          assert.equal(health.status, 200, `${ask}: /health always answers its status`);
          assert.deepEqual(await health.json(), version ? { status: "ok", runtime: "troupe", version: VERSION } : { status: "ok", runtime: "troupe" }, `${ask}: /health`);

          const head = await fetch(`${h.url}/metadata`, { method: "HEAD", headers: headersFor[ask] });
          assert.equal(head.status, status, `${ask}: HEAD has GET's status`);
          assert.equal(await head.text(), "");
        }
      } finally {
        await h.close();
      }
    });
  }

  test("without an inspector token, an Authorization header changes nothing", async () => {
    const h = await startServer({ use: { counter, room } });
    try {
      for (const ask of ["no token", "inspector token", "wrong token", "another scheme"] as const) {
        const meta = await fetch(`${h.url}/metadata`, { headers: headersFor[ask] });
        assert.equal(meta.status, 200, ask);
        assert.deepEqual(await meta.json(), NAMES, ask);
        assert.deepEqual(await (await fetch(`${h.url}/health`, { headers: headersFor[ask] })).json(), { status: "ok", runtime: "troupe" }, ask);
      }
    } finally {
      await h.close();
    }
  });

  test("the routes mounted on their own behave the same (in process, no server)", async () => {
    const h = await startServer({ use: { counter, room }, inspector: { token: INSPECTOR }, metadata: { public: "none" } });
    try {
      const get = (headers: Record<string, string>) => h.registry.routes.metadata(new Request("http://x/metadata", { headers }));
      assert.deepEqual(await (await get({})).json(), NONE);
      assert.deepEqual(await (await get(headersFor["inspector token"])).json(), FULL);
      assert.equal((await get(headersFor["wrong token"])).status, 401);
    } finally {
      await h.close();
    }
  });

  test("an unknown setting is a setup error", async () => {
    await assert.rejects(
      startServer({ use: { counter }, metadata: { public: "everything" as "full" } }),
      /metadata.public must be "full", "names" or "none"/,
    );
  });
});
