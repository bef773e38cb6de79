import { Hono, type Context } from "hono";
import type { Logger } from "pino";
import { errors } from "../common/errors.js";
import type { ActorGateway } from "../runtime/gateway.js";
import { corsHeaders } from "./cors.js";
import type { CorsPolicy } from "./origin.js";
import { clientMetadata, isRivetKitMetadataLookup, mountActorProtocol } from "./rivet/routes.js";
import { managementError } from "./rivet/rivet-errors.js";

export interface HttpAppDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
  maxBodyBytes: number;
  maxResponseBytes: number;
  /** False once a graceful shutdown began: new requests get 503 server_stopping. */
  accepting: () => boolean;
  routes: { health(req: Request): Promise<Response>; metadata(req: Request): Promise<Response>; prometheusMetrics(req: Request): Promise<Response> };
  /** The inspector, given the request and the path after /inspector. */
  inspector: (req: Request, path: string) => Promise<Response>;
  /** Browser origins allowed besides same-origin pages (`setup({ cors })`). */
  cors?: CorsPolicy;
}

/**
 * The actor protocol (docs/PROTOCOL.md) plus the three operational routes and the inspector, as
 * one Hono app. `basePath` lets the same app mount under a prefix of a user's router.
 */
export function createHttpApp(deps: HttpAppDeps, basePath = "/"): Hono {
  const app = new Hono().basePath(basePath);

  app.onError((err, c) => respondError(c, err, deps.logger));
  app.notFound((c) => respondError(c, errors.routeNotFound(), deps.logger));
  app.use("*", corsHeaders(deps.cors));
  mountActorProtocol(app, deps, basePath);

  // RivetKit's client asks /metadata before its first call; an operator's request gets the route.
  app.get("/metadata", (c, next) => (isRivetKitMetadataLookup(c) ? clientMetadata() : next()));
  const ops = { "/health": deps.routes.health, "/metadata": deps.routes.metadata, "/metrics": deps.routes.prometheusMetrics };
  for (const [path, route] of Object.entries(ops)) app.all(path, (c) => route(c.req.raw));
  app.all("/inspector/*", (c) => deps.inspector(c.req.raw, c.req.path.slice(c.req.path.indexOf("/inspector") + "/inspector".length)));
  return app;
}

function respondError(c: Context, err: unknown, logger: Logger): Response {
  return managementError(err, logger, c.req.path);
}
