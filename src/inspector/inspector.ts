import { decodeKey } from "../actor/kv.js";
import { cbor, decodeState } from "../actor/state-codec.js";
import { errors, toPublicError } from "../common/errors.js";
import type { InspectableGateway } from "../runtime/gateway.js";
import { checkConfiguredToken, tokenAuth, type TokenAuth } from "../routes/bearer-auth.js";
import { limitedBearer, tooManyFailures, type AuthLimiter } from "../routes/rate-limit.js";
import { redact, summarizeVars } from "./redact.js";

export interface InspectorConfig {
  token?: string;
}

const REALM = 'Bearer realm="troupe-inspector"';
const MAX_PAGE = 500;

/** The token comes from the config, else TROUPE_INSPECTOR_TOKEN; with neither the inspector is off. */
export function resolveInspectorAuth(config: InspectorConfig | undefined, env: NodeJS.ProcessEnv): TokenAuth {
  if (config?.token !== undefined) {
    checkConfiguredToken(config.token, "setup({ inspector: { token } })");
    return tokenAuth(config.token);
  }
  const fromEnv = env.TROUPE_INSPECTOR_TOKEN;
  if (fromEnv !== undefined) {
    checkConfiguredToken(fromEnv, "TROUPE_INSPECTOR_TOKEN");
    return tokenAuth(fromEnv);
  }
  return { mode: "disabled", hint: "inspector not enabled: set TROUPE_INSPECTOR_TOKEN, or setup({ inspector: { token } })\n" };
}

function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...extra } });
}

function limitOf(url: URL, fallback: number): number {
  const raw = url.searchParams.get("limit");
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_PAGE}`);
  return n;
}

/**
 * The inspector: per-instance diagnostics behind a bearer token (the same rules as /metrics).
 * Reads use the last turn-end snapshot of a live actor, or the store for a sleeping one, so
 * they never wait for or block a turn.
 */
export function createInspector(auth: TokenAuth, manager: () => Promise<InspectableGateway>, limiter?: AuthLimiter) {
  return async function inspector(req: Request, path: string): Promise<Response> {
    if (auth.mode === "disabled") return new Response(auth.hint, { status: 403, headers: { "content-type": "text/plain; charset=utf-8" } });
    if (auth.mode === "token") {
      const r = limitedBearer(req, auth.digest, limiter);
      if (typeof r === "object") return tooManyFailures(r.retryAfter, req.method);
      if (r !== "ok") return new Response("unauthorized\n", { status: 401, headers: { "www-authenticate": r === "invalid" ? `${REALM}, error="invalid_token"` : REALM } });
    }
    try {
      return await route(req, path, await manager());
    } catch (err) {
      const pub = toPublicError(err);
      return json(pub.status, pub.toPayload());
    }
  };
}

async function route(req: Request, path: string, m: InspectableGateway): Promise<Response> {
  const url = new URL(req.url);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "actors") throw errors.routeNotFound();
  if (parts.length === 1 && req.method === "GET") return json(200, await listActors(m, url));
  const id = parts[1]!;
  if (parts.length === 2 && req.method === "GET") return json(200, await snapshot(m, id));
  if (parts.length === 3 && req.method === "GET" && parts[2] === "kv") return json(200, await kvPage(m, id, url));
  if (parts.length === 3 && req.method === "GET" && parts[2] === "log") return json(200, await callLog(m, id, url));
  if (parts.length === 3 && req.method === "POST") {
    await m.recordById(id);
    if (parts[2] === "wake") {
      await m.wake(id);
      return json(200, { actorId: id, awake: true });
    }
    if (parts[2] === "sleep") {
      await m.sleep(id);
      return json(200, { actorId: id, awake: false });
    }
    if (parts[2] === "destroy") {
      await m.destroy(id);
      return json(200, { actorId: id, destroyed: true });
    }
  }
  if (parts.length <= 3) throw errors.methodNotAllowed(parts.length === 3 && ["wake", "sleep", "destroy"].includes(parts[2]!) ? "POST" : "GET");
  throw errors.routeNotFound();
}

async function listActors(m: InspectableGateway, url: URL) {
  const name = url.searchParams.get("name") ?? undefined;
  const status = url.searchParams.get("status") ?? "any";
  if (!["any", "awake", "asleep"].includes(status)) throw errors.invalidRequest("status must be awake, asleep or any");
  const prefixRaw = url.searchParams.get("keyPrefix");
  let keyPrefix: string[] | undefined;
  if (prefixRaw !== null) {
    try {
      const p = JSON.parse(prefixRaw) as unknown;
      keyPrefix = Array.isArray(p) && p.every((x) => typeof x === "string") ? p : undefined;
    } catch {
      keyPrefix = undefined;
    }
    if (!keyPrefix) throw errors.invalidRequest("keyPrefix must be a JSON array of strings");
  }
  const limit = limitOf(url, 100);
  const live = new Set(m.liveIds());
  const out: Array<{ actorId: string; name: string; key: string[]; awake: boolean; createdAt: number }> = [];
  let cursor = url.searchParams.get("cursor") ?? undefined;
  // Filtering by awake/asleep happens after the store's page, so read pages until this one is full.
  for (let rounds = 0; out.length < limit && rounds < 20; rounds++) {
    const page = await m.placement.list({ name, keyPrefix, afterId: cursor, limit });
    for (const r of page) {
      cursor = r.id;
      const awake = live.has(r.id);
      if (status === "any" || (status === "awake") === awake) out.push({ actorId: r.id, name: r.name, key: r.key, awake, createdAt: r.createdAt });
      if (out.length === limit) break;
    }
    if (page.length < limit) {
      cursor = undefined;
      break;
    }
  }
  return { actors: out, nextCursor: out.length === limit ? cursor : undefined };
}

async function snapshot(m: InspectableGateway, id: string) {
  const record = await m.recordById(id);
  const inst = m.live(id);
  const bytes = inst ? inst.committedSnapshot : await m.storage.loadState(id);
  const kv = await kvPage(m, id, new URL("http://x/?limit=50"));
  return {
    actorId: id,
    name: record.name,
    key: record.key,
    createdAt: record.createdAt,
    awake: Boolean(inst),
    state: bytes && bytes.byteLength > 0 ? decodeState(bytes) : undefined,
    vars: inst ? summarizeVars(inst.vars) : undefined,
    connections: inst ? [...inst.conns.values()].map((c) => ({ id: c.id, params: redact(c.params), openedAt: c.openedAt, subscriptions: [...c.subscriptions] })) : [],
    inboxDepth: inst?.inboxDepth ?? 0,
    alarms: m.alarmsOf(id).map((a) => ({ id: a.id, at: a.fireAt, action: a.action, args: cbor.decode(a.args) })),
    queues: await queueDepths(m, id, record.name),
    kv,
    sql: { tables: await m.storage.databaseTables(id) },
  };
}

async function queueDepths(m: InspectableGateway, id: string, name: string): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  for (const q of m.typeOf(name).queues.keys()) depths[q] = 0;
  for (const msg of await m.storage.loadMessages(id)) depths[msg.queue] = (depths[msg.queue] ?? 0) + 1;
  return depths;
}

async function kvPage(m: InspectableGateway, id: string, url: URL) {
  await m.recordById(id);
  const limit = limitOf(url, 100);
  const cursor = url.searchParams.get("cursor");
  const start = cursor ? new Uint8Array(Buffer.from(cursor, "base64url")) : undefined;
  // The cursor key itself comes back too (start is inclusive), so ask for one more.
  const rows = await m.storage.kvList(id, { start, limit: limit + (start ? 2 : 1) });
  const startAfter = start ? rows.filter(([k]) => Buffer.compare(k, start) > 0) : rows;
  const page = startAfter.slice(0, limit);
  const keys = page.map(([k]) => {
    const key = decodeKey(k);
    return typeof key === "string" ? key : { bytes: Buffer.from(key).toString("base64") };
  });
  return { keys, nextCursor: startAfter.length > limit ? Buffer.from(page.at(-1)![0]).toString("base64url") : undefined };
}

async function callLog(m: InspectableGateway, id: string, url: URL) {
  await m.recordById(id);
  const limit = limitOf(url, 50);
  const inst = m.live(id);
  return { actorId: id, awake: Boolean(inst), calls: inst ? inst.recentCalls.slice(-limit) : [] };
}

