import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import { errors, toPublicError, TroupeError } from "../common/errors.js";
import type { ActorGateway, ResolveMode } from "../runtime/gateway.js";
import { corsHeaders, refuseForeignOrigins } from "./cors.js";
import { connParams } from "./conn-params.js";
import { mountRivetProtocol } from "./rivet/routes.js";
import type { CorsPolicy } from "./origin.js";
import { actionBody, sendBody, decode, encode, encodingOfAccept, encodingOfContentType, parseWith, resolveBody, type Encoding } from "./protocol.js";

export interface HttpAppDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
  maxBodyBytes: number;
  /** False once a graceful shutdown began: new requests get 503 server_stopping. */
  accepting: () => boolean;
  routes: { health(req: Request): Promise<Response>; metadata(req: Request): Promise<Response>; prometheusMetrics(req: Request): Promise<Response> };
  /** The inspector, given the request and the path after /inspector. */
  inspector: (req: Request, path: string) => Promise<Response>;
  /** Browser origins allowed besides same-origin pages (`setup({ cors })`). */
  cors?: CorsPolicy;
}

/**
 * The actor HTTP API (docs/PROTOCOL.md) plus the three operational routes, as one Hono app.
 * `basePath` lets the same app mount under a prefix of a user's router.
 */
export function createHttpApp(deps: HttpAppDeps, basePath = "/"): Hono {
  const app = new Hono().basePath(basePath);

  app.onError((err, c) => respondError(c, err, deps.logger));
  app.notFound((c) => respondError(c, errors.routeNotFound(), deps.logger));
  app.use("*", corsHeaders(deps.cors));
  // RivetKit's client protocol (issue 13); requests not in its shape fall through to the routes below.
  mountRivetProtocol(app, deps);

  const ops = { "/health": deps.routes.health, "/metadata": deps.routes.metadata, "/metrics": deps.routes.prometheusMetrics };
  for (const [path, route] of Object.entries(ops)) app.all(path, (c) => route(c.req.raw));

  const refuseWhileStopping = async (_c: Context, next: () => Promise<void>) => {
    if (!deps.accepting()) throw errors.stopping();
    await next();
  };
  app.all("/inspector/*", (c) => deps.inspector(c.req.raw, c.req.path.slice(c.req.path.indexOf("/inspector") + "/inspector".length)));
  // A page on another site must not reach an actor, whatever it sends (docs/PROTOCOL.md, "Browsers").
  const foreign = refuseForeignOrigins(deps.cors);
  app.use("/actors", foreign);
  app.use("/actors/*", foreign);
  app.use("/actors", refuseWhileStopping);
  app.use("/actors/*", refuseWhileStopping);
  const limit = bodyLimit({ maxSize: deps.maxBodyBytes, onError: () => Promise.reject(errors.bodyTooLarge(deps.maxBodyBytes)) });

  const resolveRoute = (mode: ResolveMode) => async (c: Context) => {
    const body = parseWith(resolveBody, await readBody(c));
    const manager = await deps.manager();
    const r = await manager.resolve(body.name, body.key, mode, body.input);
    return reply(c, { actor: { actorId: r.actorId, name: r.name, key: r.key }, created: r.created });
  };
  app.post("/actors", limit, resolveRoute("create"));
  app.put("/actors", limit, resolveRoute("getOrCreate"));
  app.get("/actors", async (c) => {
    const name = c.req.query("name");
    if (!name) throw errors.invalidRequest("Query parameter `name` is required");
    const key = parseKeyQuery(c.req.query("key"));
    const manager = await deps.manager();
    const r = await manager.resolve(name, key, "get");
    return reply(c, { actor: { actorId: r.actorId, name: r.name, key: r.key } });
  });
  app.get("/actors/:actorId", async (c) => {
    const manager = await deps.manager();
    const rec = await manager.recordById(c.req.param("actorId"));
    return reply(c, { actor: { actorId: rec.id, name: rec.name, key: rec.key } });
  });
  app.post("/actors/:actorId/action/:action", limit, async (c) => {
    const body = parseWith(actionBody, (await readBody(c)) ?? {});
    const manager = await deps.manager();
    const output = await manager.callAction(c.req.param("actorId"), c.req.param("action"), body.args ?? [], { params: connParams(c.req.raw.headers) });
    return reply(c, { output });
  });
  app.post("/actors/:actorId/queue/:queue", limit, async (c) => {
    const body = parseWith(sendBody, (await readBody(c)) ?? {});
    const manager = await deps.manager();
    const r = await manager.sendMessage(c.req.param("actorId"), c.req.param("queue"), body.body, { wait: body.wait, timeoutMs: body.timeoutMs, params: connParams(c.req.raw.headers) });
    return reply(c, r);
  });
  // Raw HTTP for onRequest: the actor sees the path after /request, with the query string.
  const rawRequest = async (c: Context) => {
    const manager = await deps.manager();
    const url = new URL(c.req.url);
    const marker = `/actors/${c.req.param("actorId")}/request`;
    url.pathname = url.pathname.slice(url.pathname.indexOf(marker) + marker.length) || "/";
    const raw = c.req.raw;
    const hasBody = raw.method !== "GET" && raw.method !== "HEAD";
    const body = hasBody ? await raw.arrayBuffer() : undefined;
    return manager.handleRequest(c.req.param("actorId")!, new Request(url, { method: raw.method, headers: raw.headers, body }), connParams(raw.headers));
  };
  app.all("/actors/:actorId/request", limit, rawRequest);
  app.all("/actors/:actorId/request/*", limit, rawRequest);
  app.all("/actors/:actorId/connect", (c) =>
    respondError(c, errors.upgradeRequired(), deps.logger),
  );
  return app;
}

async function readBody(c: Context): Promise<unknown> {
  const encoding = encodingOfContentType(c.req.header("content-type"));
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (encoding === undefined) {
    // A body without a declared type is what a cross-site simple request carries.
    if (bytes.byteLength > 0) throw errors.unsupportedMediaType("(none)");
    return undefined;
  }
  return decode(bytes, encoding);
}

function parseKeyQuery(raw: string | undefined): unknown {
  if (raw === undefined) return [];
  try {
    return JSON.parse(raw);
  } catch {
    throw errors.invalidKey("the `key` query parameter must be a JSON array of strings");
  }
}

function responseEncoding(c: Context): Encoding {
  return encodingOfAccept(c.req.header("accept"));
}

function reply(c: Context, payload: unknown, status = 200): Response {
  const encoding = responseEncoding(c);
  const body = encode(payload, encoding);
  const headers: Record<string, string> = { "content-type": encoding === "cbor" ? "application/cbor" : "application/json; charset=utf-8" };
  // A 413 answers before the body was read: the connection cannot carry another request.
  if (status === 413) headers.connection = "close";
  return new Response(body as BodyInit, { status, headers });
}

function respondError(c: Context, err: unknown, logger: Logger): Response {
  const pub = toPublicError(err);
  if (!(err instanceof TroupeError)) logger.error({ err, path: c.req.path }, "unhandled error in request");
  return reply(c, pub.toPayload(), pub.status);
}
