import { errors, TroupeError } from "../../common/errors.js";
import { decodeCborCompat } from "../../protocol/rivet/codec.js";
import { base64ToBytes } from "../../client/protocol/json-compat.js";
import type { ActorGateway, ResolveMode } from "../../runtime/gateway.js";
import { readLimited } from "./body.js";
import { deserializeActorKey, serializeActorKey } from "../../client/protocol/keys.js";
import { checkCrashPolicy } from "./options.js";

/**
 * Rivet's engine API for actors, in the shape rivetkit's client reads (snake_case, the key
 * serialized; rivetkit src/engine-api/actors.ts):
 *   PUT    /actors                                 get or create → {actor, created}
 *   POST   /actors                                 create → {actor}
 *   GET    /actors?actor_ids=a,b | name=&key= | name=   → {actors: [...]}
 *   DELETE /actors/{id}                            → {}
 * All JSON, and all through the ActorGateway (resolve, list, destroy), like every other way in.
 */

type ActorRecordLike = Awaited<ReturnType<ActorGateway["recordById"]>>;

/** How many actors one listing returns at most (the client asks for no page). */
export const LIST_LIMIT = 1000;

/** RivetKit's Actor object. Troupe wakes an actor on its first call, so it is always connectable. */
function apiActor(rec: ActorRecordLike) {
  return {
    actor_id: rec.id,
    name: rec.name,
    key: serializeActorKey(rec.key),
    namespace_id: "default",
    runner_name_selector: "default",
    crash_policy: "sleep",
    create_ts: rec.createdAt,
    start_ts: rec.createdAt,
    connectable_ts: rec.createdAt,
    sleep_ts: null,
    destroy_ts: null,
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function isNotFound(err: unknown): boolean {
  return err instanceof TroupeError && err.group === "actor" && err.code === "not_found";
}

async function parseJson(request: Request, limit: number): Promise<Record<string, unknown>> {
  const mime = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mime !== "application/json") throw errors.unsupportedMediaType(mime || "(none)");
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await readLimited(request, limit)));
  } catch (err) {
    if (err instanceof TroupeError) throw err;
    throw errors.malformedBody("invalid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw errors.rivetInvalidRequest("the body must be an object");
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw errors.rivetInvalidRequest(`\`${field}\` must be a string`);
  return v;
}

/** `input`: standard base64 of the CBOR-compat value (rivetkit's uint8ArrayToBase64(encodeCborCompat(input))). */
function decodeInput(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw errors.rivetInvalidRequest("`input` must be base64");
  try {
    return decodeCborCompat(base64ToBytes(text));
  } catch {
    throw errors.rivetInvalidRequest("`input` is not CBOR");
  }
}

/** PUT (getOrCreate) and POST (create). `datacenter` and `runner_name_selector` are ignored. */
export async function createOrGet(gw: ActorGateway, request: Request, mode: Extract<ResolveMode, "create" | "getOrCreate">, maxBodyBytes: number): Promise<Response> {
  const body = await parseJson(request, maxBodyBytes);
  const name = optionalString(body, "name");
  if (name === undefined || name === "") throw errors.rivetInvalidRequest("`name` is required");
  const key = optionalString(body, "key");
  if (key === undefined && mode === "getOrCreate") throw errors.rivetInvalidRequest("`key` is required");
  checkCrashPolicy(optionalString(body, "crash_policy"));
  const r = await gw.resolve(name, deserializeActorKey(key), mode, decodeInput(optionalString(body, "input")));
  const actor = apiActor(await gw.recordById(r.actorId));
  return json(mode === "create" ? { actor } : { actor, created: r.created });
}

async function byIds(gw: ActorGateway, ids: string[]): Promise<ActorRecordLike[]> {
  const found: ActorRecordLike[] = [];
  for (const id of ids) {
    try {
      found.push(await gw.recordById(id));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return found;
}

export async function listActors(gw: ActorGateway, url: URL): Promise<Response> {
  const q = url.searchParams;
  const ids = q.get("actor_ids");
  const name = q.get("name");
  if (ids !== null) {
    const list = ids.split(",").filter((id) => id !== "");
    if (list.length > 100) throw errors.rivetInvalidRequest("at most 100 actor_ids");
    const found = await byIds(gw, list);
    return json({ actors: found.filter((rec) => name === null || rec.name === name).map(apiActor) });
  }
  if (name === null || name === "") throw errors.rivetInvalidRequest("`name` or `actor_ids` is required");
  const key = q.get("key");
  if (key !== null) {
    try {
      const r = await gw.resolve(name, deserializeActorKey(key), "get");
      return json({ actors: [apiActor(await gw.recordById(r.actorId))] });
    } catch (err) {
      if (isNotFound(err)) return json({ actors: [] });
      throw err;
    }
  }
  const records = await gw.list({ name, limit: LIST_LIMIT });
  return json({ actors: records.map(apiActor) });
}

export async function destroyActor(gw: ActorGateway, actorId: string): Promise<Response> {
  await gw.recordById(actorId); // actor/not_found for an unknown id, before waking anything
  await gw.destroy(actorId);
  return json({});
}
