import type { Context, Hono, Next } from "hono";
import type { Logger } from "pino";
import { errors } from "../../common/errors.js";
import { encodingFromHeader } from "../../protocol/rivet/codec.js";
import type { ActorGateway } from "../../runtime/gateway.js";
import { refuseForeignOrigins } from "../cors.js";
import type { CorsPolicy } from "../origin.js";
import { handleActorRequest } from "./actor-requests.js";
import { createOrGet, destroyActor, listActors } from "./actors-api.js";
import { parseGatewayAddress, resolveTarget } from "./gateway-routing.js";
import { checkNamespace } from "./options.js";
import { gatewayError, managementError } from "./rivet-errors.js";

/**
 * Troupe's wire protocol over HTTP, which is RivetKit's client protocol (docs/PROTOCOL.md):
 * the engine-shaped management API on `/actors` and actor requests on `/gateway/...`. Troupe's
 * own client and RivetKit's speak it alike; the WebSocket half is ws-upgrade.ts.
 */
export interface ActorProtocolDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
  maxBodyBytes: number;
  maxResponseBytes: number;
  accepting: () => boolean;
  cors?: CorsPolicy;
}

/** A `/metadata` request from RivetKit's client (it adds `namespace`), not an operator's. */
export function isRivetKitMetadataLookup(c: Context): boolean {
  return c.req.query("namespace") !== undefined || (c.req.header("user-agent") ?? "").startsWith("RivetKit/");
}

/** What the client reads from `/metadata`: it only needs an answer (it retries forever without one). */
export function clientMetadata(): Response {
  return new Response(JSON.stringify({ runtime: "troupe" }), { headers: { "content-type": "application/json" } });
}

/**
 * Mounts the protocol. `basePath` is the app's own prefix: a request routed by headers
 * (`x-rivet-target: actor`, `x-rivet-actor: {id}`, as Rivet's guard forwards one) names the
 * actor request by its whole path after it, so it is checked before any route.
 */
export function mountActorProtocol(app: Hono, deps: ActorProtocolDeps, basePath = "/"): void {
  const foreign = refuseForeignOrigins(deps.cors);
  /** Every way in passes the same gates: origin and shutdown (bodies are read with the size cap). */
  const gates = async (c: Context) => {
    await foreign(c, async () => {});
    if (!deps.accepting()) throw errors.stopping();
  };
  const actorRequest = async (c: Context, resolve: (url: URL) => { actorId: (gw: ActorGateway) => Promise<string>; rest: string; search: string }) => {
    const encodingHeader = c.req.header("x-rivet-encoding");
    try {
      await gates(c);
      const encoding = encodingFromHeader(encodingHeader);
      const target = resolve(new URL(c.req.url));
      const gw = await deps.manager();
      const actorId = await target.actorId(gw);
      return await handleActorRequest({ gw, actorId, rest: target.rest, search: target.search, request: c.req.raw, encoding, maxBodyBytes: deps.maxBodyBytes, maxResponseBytes: deps.maxResponseBytes });
    } catch (err) {
      return gatewayError(err, encodingHeader, deps.logger, c.req.path);
    }
  };

  const prefix = basePath.replace(/\/+$/, "");
  app.use("*", async (c, next) => {
    if (c.req.header("x-rivet-target") !== "actor") return next();
    return actorRequest(c, (url) => {
      const actorId = c.req.header("x-rivet-actor");
      if (!actorId) throw errors.rivetInvalidRequest("`x-rivet-target: actor` needs the actor's id in `x-rivet-actor`");
      return { actorId: async () => actorId, rest: url.pathname.slice(prefix.length) || "/", search: url.searchParams.toString() };
    });
  });
  const management = (run: (c: Context, gw: ActorGateway) => Promise<Response>) => async (c: Context, _next: Next) => {
    try {
      await gates(c);
      checkNamespace(c.req.query("namespace"));
      return await run(c, await deps.manager());
    } catch (err) {
      return managementError(err, deps.logger, c.req.path);
    }
  };

  app.put("/actors", management((c, gw) => createOrGet(gw, c.req.raw, "getOrCreate", deps.maxBodyBytes)));
  app.post("/actors", management((c, gw) => createOrGet(gw, c.req.raw, "create", deps.maxBodyBytes)));
  app.get("/actors", management((c, gw) => listActors(gw, new URL(c.req.url))));
  app.delete("/actors/:actorId", management((c, gw) => destroyActor(gw, c.req.param("actorId") ?? "")));

  app.all("/gateway/*", (c) =>
    actorRequest(c, (url) => {
      const marker = url.pathname.indexOf("/gateway/");
      const address = parseGatewayAddress(url.pathname.slice(marker + "/gateway/".length), url);
      // An action queues behind a new actor's first turn, and its reply waits for that commit.
      const early = address.rest.startsWith("/action/");
      return { actorId: (gw) => resolveTarget(gw, address.target, early), rest: address.rest, search: address.search };
    }),
  );
}
