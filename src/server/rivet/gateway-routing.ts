import { decodeCborCompat } from "../../protocol/rivet/codec.js";
import type { ActorGateway, ResolveMode } from "../../runtime/gateway.js";
import { errors } from "../../common/errors.js";
import { parseGatewayKey } from "../../client/protocol/keys.js";
import { checkCrashPolicy, checkNamespace } from "./options.js";

/**
 * RivetKit's gateway addresses an actor in the first path segment after `/gateway/`:
 *   by id    /gateway/{actorId}[@{token}]{path}
 *   by key   /gateway/{name}{path}?rvt-method=get|getOrCreate&rvt-key=k1,k2[&rvt-input=…]…
 * and the rest of the path is the actor request (`/action/…`, `/queue/…`, `/request/…`).
 */
export type GatewayTarget =
  | { kind: "id"; actorId: string }
  | { kind: "query"; name: string; mode: Extract<ResolveMode, "get" | "getOrCreate">; key: string[]; input?: unknown };

export interface GatewayAddress {
  target: GatewayTarget;
  /** The actor request's path, e.g. `/action/increment`, still URL-encoded. */
  rest: string;
  /** The query string without the gateway's own `rvt-*` parameters (raw requests see it). */
  search: string;
}

function decodeSegment(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.rivetInvalidRequest(`${what} is not valid URL encoding`);
  }
}

/** rvt-input: base64url (no padding) of the CBOR-compat input, as the client writes it. */
function decodeInput(value: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw errors.rivetInvalidRequest("rvt-input must be base64url");
  try {
    return decodeCborCompat(new Uint8Array(Buffer.from(value, "base64url")));
  } catch {
    throw errors.rivetInvalidRequest("rvt-input is not CBOR");
  }
}

/** The gateway's own parameters (docs/PROTOCOL.md); the actor sees every other one. */
const GATEWAY_PARAMS = new Set(["rvt-namespace", "rvt-method", "rvt-key", "rvt-input", "rvt-runner", "rvt-region", "rvt-crash-policy", "rvt-token", "rvt-skip-ready-wait"]);

interface GatewayParams {
  rvt: Record<string, string | undefined>;
  /** Whether any parameter is the actor's. */
  others: boolean;
}

const NO_PARAMS: GatewayParams = Object.freeze({ rvt: Object.freeze({}), others: false });

/**
 * The gateway's parameters, in one pass over the query. An `rvt-*` parameter the gateway does
 * not know, or one given twice, is a mistake to refuse, not to guess at.
 */
function gatewayParams(q: URLSearchParams): GatewayParams {
  const rvt: Record<string, string | undefined> = {};
  let others = false;
  for (const [k, v] of q) {
    if (!k.startsWith("rvt-")) {
      others = true;
      continue;
    }
    if (!GATEWAY_PARAMS.has(k)) throw errors.rivetInvalidRequest(`unknown gateway parameter \`${k.slice(0, 50)}\``);
    if (rvt[k] !== undefined) throw errors.rivetInvalidRequest(`the gateway parameter \`${k}\` is given more than once`);
    rvt[k] = v;
  }
  return { rvt, others };
}

/** `afterGateway` is the URL path after `/gateway/` (still encoded). */
export function parseGatewayAddress(afterGateway: string, url: URL): GatewayAddress {
  const slash = afterGateway.indexOf("/");
  const head = slash === -1 ? afterGateway : afterGateway.slice(0, slash);
  const rest = slash === -1 ? "/" : afterGateway.slice(slash);
  if (head === "") throw errors.rivetInvalidRequest("the gateway path names no actor");
  // A request without a query (Troupe's client, by id) builds no URLSearchParams at all.
  const { rvt, others } = url.search === "" ? NO_PARAMS : gatewayParams(url.searchParams);
  const search = others ? new URLSearchParams([...url.searchParams].filter(([k]) => !k.startsWith("rvt-"))).toString() : "";
  const method = rvt["rvt-method"] ?? null;
  if (method === null) {
    // The token after `@` is accepted and ignored (see options.ts).
    const at = head.indexOf("@");
    return { target: { kind: "id", actorId: decodeSegment(at === -1 ? head : head.slice(0, at), "the actor id") }, rest, search };
  }
  checkNamespace(rvt["rvt-namespace"]);
  checkCrashPolicy(rvt["rvt-crash-policy"]);
  if (method !== "get" && method !== "getOrCreate") throw errors.rivetInvalidRequest("rvt-method must be `get` or `getOrCreate`");
  const name = decodeSegment(head, "the actor name");
  const key = parseGatewayKey(rvt["rvt-key"] ?? null);
  const inputParam = rvt["rvt-input"] ?? null;
  if (inputParam !== null && method !== "getOrCreate") throw errors.rivetInvalidRequest("rvt-input is only meaningful with rvt-method=getOrCreate");
  const target: GatewayTarget = inputParam === null ? { kind: "query", name, mode: method, key } : { kind: "query", name, mode: method, key, input: decodeInput(inputParam) };
  return { target, rest, search };
}

/**
 * The actor id a target names; a key is resolved through the gateway (creating it for
 * getOrCreate). `early` when the request is an action: see ActorGateway.resolve.
 */
export async function resolveTarget(gw: ActorGateway, target: GatewayTarget, early = false): Promise<string> {
  if (target.kind === "id") return target.actorId;
  const r = await gw.resolve(target.name, target.key, target.mode, target.input, early ? { early } : undefined);
  return r.actorId;
}
