import assert from "node:assert/strict";
import crypto from "node:crypto";
import nodeHttp from "node:http";
import { describe, mock, test } from "node:test";
import { actor, setup } from "../src/index.js";
import { createAuthLimiter } from "../src/routes/rate-limit.js";
import { addressKey } from "../src/server/client-address.js";
import { quietLogger, startServer } from "./helpers/harness.js";

// Guessing the /metrics or inspector token: wrong tokens are budgeted per client address
// (a token bucket), shared across every token-protected route; past the budget every request
// carrying a token gets 429 with Retry-After, and the right token keeps working elsewhere.
const METRICS = "limit-metrics-token-abc123";
const INSPECTOR = "limit-inspector-token-def456";
const counter = actor({ state: { n: 0 }, actions: { inc: (c) => ++c.state.n } });

/** GET from a chosen loopback source address (Linux routes all of 127/8 to lo). */
function get(url: string, headers: Record<string, string>, localAddress = "127.0.0.1"): Promise<{ status: number; headers: nodeHttp.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(url, { headers, localAddress, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("wrong tokens are rate-limited per client address over real HTTP", () => {
  test("a budget of 5: the 6th wrong token, and then any token, gets 429 with Retry-After; other requests and other addresses are served", async () => {
    const h = await startServer({ use: { counter }, metrics: { token: METRICS }, inspector: { token: INSPECTOR }, limits: { authFailuresPerMinute: 5 } });
    try {
      // Right tokens cost nothing.
      for (let i = 0; i < 20; i++) assert.equal((await get(`${h.url}/metrics`, bearer(METRICS))).status, 200);
      // Wrong tokens on every route share one budget.
      const wrong: Array<[string, number]> = [
        ["/metrics", 401],
        ["/inspector/actors", 401],
        ["/metadata", 401],
        ["/metrics", 401],
        ["/health", 200],
      ];
      for (const [path, status] of wrong) assert.equal((await get(`${h.url}${path}`, bearer("guess"))).status, status, path);

      const limited = await get(`${h.url}/metrics`, bearer("guess"));
      assert.equal(limited.status, 429);
      assert.equal(JSON.parse(limited.body).code, "too_many_auth_failures");
      const retryAfter = Number(limited.headers["retry-after"]);
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 12, `Retry-After ${limited.headers["retry-after"]}`);
      assert.equal(limited.headers["cache-control"], "no-store");

      // The right token is not even compared now: a 200 would tell a guesser it had found it.
      for (const [path, token] of [["/metrics", METRICS], ["/inspector/actors", INSPECTOR], ["/metadata", INSPECTOR]] as const) {
        const r = await get(`${h.url}${path}`, bearer(token));
        assert.equal(r.status, 429, path);
        assert.ok(!r.body.includes(token));
      }
      // Requests without a token are served as before.
      assert.equal((await get(`${h.url}/metrics`, {})).status, 401);
      assert.equal((await get(`${h.url}/metadata`, {})).status, 200);
      const health = await get(`${h.url}/health`, bearer(INSPECTOR));
      assert.equal(health.status, 200, "/health keeps answering its status");
      assert.equal(JSON.parse(health.body).version, undefined, "but shows no version while limited");
      assert.equal(await h.client.counter.getOrCreate(["x"]).inc(), 1, "actors are not affected");

      // Another address has its own budget.
      assert.equal((await get(`${h.url}/metrics`, bearer(METRICS), "127.0.0.2")).status, 200);
      assert.equal((await get(`${h.url}/inspector/actors`, bearer(INSPECTOR), "127.0.0.2")).status, 200);
    } finally {
      await h.close();
    }
  });

  test("while limited, no token comparison runs at all", async () => {
    const h = await startServer({ use: { counter }, metrics: { token: METRICS }, limits: { authFailuresPerMinute: 2 } });
    const spy = mock.method(crypto, "timingSafeEqual");
    try {
      for (let i = 0; i < 2; i++) assert.equal((await get(`${h.url}/metrics`, bearer("guess"))).status, 401);
      assert.equal(spy.mock.callCount(), 2, "one constant-time comparison per attempt, as before");
      for (let i = 0; i < 5; i++) assert.equal((await get(`${h.url}/metrics`, bearer("guess"))).status, 429);
      assert.equal(spy.mock.callCount(), 2, "none while limited");
    } finally {
      mock.restoreAll();
      await h.close();
    }
  });

  test("mounted as Fetch handlers, requests share one budget unless clientAddress names the client", async () => {
    const shared = setup({ use: { counter }, storage: { driver: "memory" }, logger: quietLogger, metrics: { token: METRICS }, limits: { authFailuresPerMinute: 3 } });
    const named = setup({
      use: { counter },
      storage: { driver: "memory" },
      logger: quietLogger,
      metrics: { token: METRICS },
      limits: { authFailuresPerMinute: 3 },
      clientAddress: ({ headers }) => headers.get("x-test-client") ?? undefined,
    });
    try {
      const ask = (r: typeof shared, client: string, token: string) => r.routes.prometheusMetrics(new Request("http://x/metrics", { headers: { "x-test-client": client, ...bearer(token) } }));
      for (let i = 0; i < 3; i++) assert.equal((await ask(shared, `c${i}`, "guess")).status, 401);
      assert.equal((await ask(shared, "someone-else", METRICS)).status, 429, "no socket, no header rule: one shared budget");
      for (let i = 0; i < 3; i++) assert.equal((await ask(named, "mallory", "guess")).status, 401);
      assert.equal((await ask(named, "mallory", METRICS)).status, 429);
      assert.equal((await ask(named, "prometheus", METRICS)).status, 200, "named clients have their own budgets");
    } finally {
      await shared.shutdown();
      await named.shutdown();
    }
  });
});

describe("the token bucket", () => {
  const req = (addr: string) => new Request("http://x/", { headers: { "x-addr": addr } });
  const make = (perMinute: number, clock: { t: number }, maxTracked?: number) =>
    createAuthLimiter({ perMinute, address: (r) => r.headers.get("x-addr")!, now: () => clock.t, maxTracked });

  test("holds perMinute failures, then refills one every 60/perMinute seconds", () => {
    const clock = { t: 0 };
    const limiter = make(10, clock);
    for (let i = 0; i < 10; i++) {
      assert.equal(limiter.retryAfter(req("a")), undefined, `attempt ${i + 1}`);
      limiter.failed(req("a"));
    }
    assert.equal(limiter.retryAfter(req("a")), 6, "one token comes back in 6 s");
    clock.t += 3_000;
    assert.equal(limiter.retryAfter(req("a")), 3);
    clock.t += 3_000;
    assert.equal(limiter.retryAfter(req("a")), undefined, "refilled");
    limiter.failed(req("a"));
    assert.equal(limiter.retryAfter(req("a")), 6, "and spent again");
    clock.t += 60_000;
    for (let i = 0; i < 10; i++) limiter.failed(req("a"));
    assert.ok(limiter.retryAfter(req("a")) !== undefined, "a full minute refills at most perMinute, never more");
  });

  test("forgets the least recently failed address past maxTracked, and only then", () => {
    const clock = { t: 0 };
    const limiter = make(1, clock, 3);
    for (const a of ["a", "b", "c"]) limiter.failed(req(a));
    assert.ok(["a", "b", "c"].every((a) => limiter.retryAfter(req(a)) !== undefined));
    limiter.failed(req("d"));
    assert.equal(limiter.retryAfter(req("a")), undefined, "a was forgotten");
    assert.ok(["b", "c", "d"].every((a) => limiter.retryAfter(req(a)) !== undefined));
  });

  test("Infinity turns the limit off", () => {
    const limiter = make(Infinity, { t: 0 });
    for (let i = 0; i < 1000; i++) limiter.failed(req("a"));
    assert.equal(limiter.retryAfter(req("a")), undefined);
  });

  test("addresses: IPv4-mapped IPv6 is IPv4; IPv6 counts by its /64", () => {
    assert.equal(addressKey("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(addressKey("10.1.2.3"), "10.1.2.3");
    assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(addressKey("::1"), "0:0:0:0::/64");
    assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(addressKey(undefined), "unknown");
  });
});
