import { checkConfiguredToken, tokenAuth, type TokenAuth } from "./bearer-auth.js";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { limitedBearer, tooManyFailures, type AuthLimiter } from "./rate-limit.js";
import { isReadMethod, json, methodNotAllowed, text } from "./responses.js";

const gzipAsync = promisify(gzip);

/** True when the Accept-Encoding header lists gzip (or *) with a non-zero q. */
function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return (coding === "gzip" || coding === "*") && (q === undefined || Number(q.slice(2)) > 0);
  });
}

export { checkBearer, checkConfiguredToken, tokenAuth, type TokenAuth, type AuthResult } from "./bearer-auth.js";

export type HealthStatus = "starting" | "ok" | "stopping";
/** What `/metadata` shows a request without the inspector token (docs/ROUTES.md). */
export type MetadataExposure = "full" | "names" | "none";

/** `setup({ metadata })`. */
export interface MetadataConfig {
  /** "names" (default): actor names, no actions or version; "full": everything; "none": runtime and protocol only. */
  public?: MetadataExposure;
}
export type MetricsFormat = "prometheus" | "openmetrics";

/** `setup({ metrics: { token, auth } })`. */
export interface MetricsAuthConfig {
  token?: string | undefined;
  /** "bearer" (default) requires the token; "none" serves /metrics to anyone (logs a warning). */
  auth?: "bearer" | "none";
}

export interface RouteDeps {
  /** The package's real version. */
  version: string;
  health(): HealthStatus;
  metadata(): { mode: string; protocolVersion: number; actorNames: Record<string, { actions: string[] }> };
  renderMetrics(format: MetricsFormat): Promise<string>;
  negotiateFormat(accept: string | null): MetricsFormat;
  contentTypeFor(format: MetricsFormat): string;
  metricsAuth: TokenAuth;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** What `/metadata` shows without the inspector token. Default "names". */
  metadataPublic?: MetadataExposure;
  /** The inspector's token: with it `/metadata` and `/health` show everything. */
  inspectorAuth?: TokenAuth;
  /** Rate-limits wrong tokens per client address; shared with the inspector. */
  authLimiter?: AuthLimiter;
}

export interface Routes {
  health(req: Request): Promise<Response>;
  metadata(req: Request): Promise<Response>;
  prometheusMetrics(req: Request): Promise<Response>;
}

const REALM = 'Bearer realm="troupe-metrics"';
const INSPECTOR_REALM = 'Bearer realm="troupe-inspector"';

/**
 * Resolves how /metrics authenticates. The config token wins over TROUPE_METRICS_TOKEN;
 * with neither, /metrics answers 403 unless `auth: "none"` was chosen explicitly.
 */
export function resolveMetricsAuth(config: MetricsAuthConfig | undefined, env: NodeJS.ProcessEnv, log: { warn(obj: object, msg: string): void }): TokenAuth {
  if (config?.auth === "none") {
    log.warn({}, 'metrics auth is "none": /metrics answers anyone who can reach it');
    return { mode: "none" };
  }
  if (config?.token !== undefined) {
    checkConfiguredToken(config.token, "setup({ metrics: { token } })");
    return tokenAuth(config.token);
  }
  const fromEnv = env.TROUPE_METRICS_TOKEN;
  if (fromEnv !== undefined) {
    checkConfiguredToken(fromEnv, "TROUPE_METRICS_TOKEN");
    return tokenAuth(fromEnv);
  }
  return { mode: "disabled", hint: "metrics not enabled: set TROUPE_METRICS_TOKEN, or setup({ metrics: { token } }), and scrape with Authorization: Bearer <token>\n" };
}

/** The three operational routes as Fetch handlers: mount them in any router. */
export function createRoutes(deps: RouteDeps): Routes {
  const exposure = deps.metadataPublic ?? "names";
  if (!["full", "names", "none"].includes(exposure)) throw new TypeError('setup(): metadata.public must be "full", "names" or "none"');
  /** "full" with the inspector token (or when everything is public), else the public level; or a refusal. */
  const levelOf = (req: Request): MetadataExposure | { retryAfter: number } | "invalid" => {
    const auth = deps.inspectorAuth;
    if (exposure === "full" || auth?.mode !== "token" || req.headers.get("authorization") === null) return exposure;
    const r = limitedBearer(req, auth.digest, deps.authLimiter);
    return r === "ok" ? "full" : r === "missing" ? exposure : typeof r === "object" ? r : "invalid";
  };
  return {
    async health(req) {
      if (!isReadMethod(req.method)) return methodNotAllowed(req.method);
      const status = deps.health();
      // Orchestrators need the status only; the version helps an attacker pick an exploit.
      const full = levelOf(req) === "full";
      return json(status === "ok" ? 200 : 503, full ? { status, runtime: "troupe", version: deps.version } : { status, runtime: "troupe" }, req.method);
    },

    async metadata(req) {
      if (!isReadMethod(req.method)) return methodNotAllowed(req.method);
      const level = levelOf(req);
      if (typeof level === "object") return tooManyFailures(level.retryAfter, req.method);
      // A wrong token is told so (the 401 the inspector gives), not quietly shown less.
      if (level === "invalid") return text(401, "unauthorized: invalid token\n", req.method, { "www-authenticate": `${INSPECTOR_REALM}, error="invalid_token"` });
      const m = deps.metadata();
      if (level === "none") return json(200, { runtime: "troupe", protocolVersion: m.protocolVersion }, req.method);
      if (level === "names") {
        const actorNames = Object.fromEntries(Object.keys(m.actorNames).map((name) => [name, {}]));
        return json(200, { runtime: "troupe", mode: m.mode, protocolVersion: m.protocolVersion, actorNames }, req.method);
      }
      return json(200, { runtime: "troupe", version: deps.version, mode: m.mode, protocolVersion: m.protocolVersion, actorNames: m.actorNames }, req.method);
    },

    async prometheusMetrics(req) {
      if (!isReadMethod(req.method)) return methodNotAllowed(req.method);
      const auth = deps.metricsAuth;
      if (auth.mode === "disabled") return text(403, auth.hint, req.method);
      if (auth.mode === "token") {
        const result = limitedBearer(req, auth.digest, deps.authLimiter);
        if (typeof result === "object") return tooManyFailures(result.retryAfter, req.method);
        if (result === "missing" || result === "malformed") {
          return text(401, "unauthorized: send Authorization: Bearer <token>\n", req.method, { "www-authenticate": REALM });
        }
        if (result === "invalid") {
          return text(401, "unauthorized: invalid token\n", req.method, { "www-authenticate": `${REALM}, error="invalid_token"` });
        }
      }
      const format = deps.negotiateFormat(req.headers.get("accept"));
      try {
        const text = await deps.renderMetrics(format);
        const headers: Record<string, string> = { "content-type": deps.contentTypeFor(format), "cache-control": "no-store", vary: "Accept-Encoding" };
        // Prometheus asks for gzip; the exposition is repetitive text and shrinks about tenfold.
        let body: string | Uint8Array = text;
        if (acceptsGzip(req.headers.get("accept-encoding"))) {
          body = await gzipAsync(text);
          headers["content-encoding"] = "gzip";
        }
        return new Response(req.method === "HEAD" ? null : (body as BodyInit), { status: 200, headers });
      } catch (err) {
        deps.log.error({ err }, "rendering metrics failed");
        return text(500, "metrics rendering failed; see the server log\n", req.method);
      }
    },
  };
}
