import type { Context, MiddlewareHandler } from "hono";
import { errors } from "../common/errors.js";
import { DEFAULT_ALLOW_HEADERS, isListedOrigin, isSameOrigin, originAllowed, type CorsPolicy } from "./origin.js";

const ALLOW_METHODS = "GET, HEAD, PUT, POST, DELETE, PATCH";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function hostOf(c: Context): string | undefined {
  return c.req.header("host") ?? new URL(c.req.url).host;
}

/**
 * Answers CORS preflights (204 for an allowed origin, 403 `origin_not_allowed` otherwise) and
 * marks actual responses to a listed origin. Without a policy only same-origin pages pass.
 */
export function corsHeaders(cors: CorsPolicy | undefined): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      if (!isSameOrigin(origin, hostOf(c)) && !isListedOrigin(origin, cors)) throw errors.originNotAllowed(origin);
      const headers = new Headers({
        "access-control-allow-origin": cors?.anyOrigin ? "*" : origin,
        "access-control-allow-methods": ALLOW_METHODS,
        "access-control-allow-headers": (cors?.allowHeaders ?? DEFAULT_ALLOW_HEADERS).join(", "),
        "access-control-max-age": String(cors?.maxAgeSeconds ?? 600),
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
      if (cors?.credentials) headers.set("access-control-allow-credentials", "true");
      // Chrome asks before a public page may reach a private address (localhost, the intranet).
      if (c.req.header("access-control-request-private-network") === "true") headers.set("access-control-allow-private-network", "true");
      return new Response(null, { status: 204, headers });
    }
    await next();
    if (!cors) return;
    const listed = origin !== undefined && isListedOrigin(origin, cors);
    withHeaders(c, (h) => {
      // A shared cache must not hand one origin's answer to another.
      if (!cors.anyOrigin) appendVary(h, "Origin");
      if (!listed) return;
      h.set("access-control-allow-origin", cors.anyOrigin ? "*" : origin!);
      if (cors.credentials) h.set("access-control-allow-credentials", "true");
    });
  };
}

/** Refuses a request a page on a foreign origin made (403 `origin_not_allowed`) before it reaches an actor. */
export function refuseForeignOrigins(cors: CorsPolicy | undefined): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    const secFetchSite = c.req.header("sec-fetch-site");
    if (!originAllowed({ origin, host: hostOf(c), secFetchSite, unsafe: !SAFE_METHODS.has(c.req.method) }, cors)) {
      throw errors.originNotAllowed(origin ?? `(none, Sec-Fetch-Site: ${secFetchSite})`);
    }
    await next();
  };
}

function appendVary(h: Headers, value: string): void {
  const current = h.get("vary");
  if (!current) h.set("vary", value);
  else if (!current.split(",").some((v) => v.trim().toLowerCase() === value.toLowerCase())) h.set("vary", `${current}, ${value}`);
}

/** Edits the response's headers; a response with immutable headers (Response.redirect, a fetch) is copied first. */
function withHeaders(c: Context, edit: (h: Headers) => void): void {
  try {
    edit(c.res.headers);
  } catch {
    const copy = new Response(c.res.body, c.res);
    edit(copy.headers);
    // Hono merges the old response's headers into a new one; clearing it first keeps ours.
    c.res = undefined;
    c.res = copy;
  }
}
