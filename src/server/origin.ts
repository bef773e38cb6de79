/**
 * Which browser origins may call Troupe: the one allow-list that HTTP requests, CORS
 * preflights and WebSocket upgrades all consult. A request without `Origin` is not from a
 * browser page (or is a same-origin navigation) and passes; so does a same-origin one.
 */

/** `setup({ cors })`. */
export interface CorsConfig {
  /** Origins (`https://app.example.com`) allowed to call from a browser, or "*" for any. */
  origins: readonly string[] | "*";
  /** Let browsers send cookies and HTTP auth (`Access-Control-Allow-Credentials`). Not with "*". */
  credentials?: boolean;
  /** How long a browser may cache a preflight. Default 600. */
  maxAgeSeconds?: number;
  /** Request headers a page may send. Default: see DEFAULT_ALLOW_HEADERS. */
  allowHeaders?: readonly string[];
}

export interface CorsPolicy {
  readonly anyOrigin: boolean;
  readonly origins: ReadonlySet<string>;
  readonly credentials: boolean;
  readonly maxAgeSeconds: number;
  readonly allowHeaders: readonly string[];
}

export const DEFAULT_ALLOW_HEADERS = [
  "content-type",
  "accept",
  "authorization",
  "x-rivet-conn-params",
  "x-rivet-encoding",
  "x-rivet-token",
] as const;

/** Validates `setup({ cors })`; undefined when no policy was given. */
export function resolveCors(config: CorsConfig | undefined): CorsPolicy | undefined {
  if (config === undefined) return undefined;
  const anyOrigin = config.origins === "*";
  if (!anyOrigin && !Array.isArray(config.origins)) throw new TypeError('setup(): cors.origins must be an array of origins or "*"');
  if (anyOrigin && config.credentials) throw new TypeError('setup(): cors.credentials cannot be used with cors.origins "*" (browsers refuse it); list the origins');
  const origins = new Set<string>();
  for (const o of anyOrigin ? [] : (config.origins as readonly string[])) {
    const normal = normalizeOrigin(o);
    if (typeof o !== "string" || normal === undefined) {
      throw new TypeError(`setup(): cors.origins: "${String(o).slice(0, 100)}" is not an origin like https://app.example.com (scheme, host and port only)`);
    }
    origins.add(normal);
  }
  const maxAgeSeconds = config.maxAgeSeconds ?? 600;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0) throw new TypeError("setup(): cors.maxAgeSeconds must be a non-negative integer");
  const allowHeaders = (config.allowHeaders ?? DEFAULT_ALLOW_HEADERS).map((h) => {
    if (typeof h !== "string" || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(h)) throw new TypeError(`setup(): cors.allowHeaders: "${String(h).slice(0, 100)}" is not a header name`);
    return h.toLowerCase();
  });
  return { anyOrigin, origins, credentials: config.credentials === true, maxAgeSeconds, allowHeaders };
}

/** `scheme://host[:port]`, lowercased, default port dropped; undefined when not an http(s) origin. */
function normalizeOrigin(origin: string): string | undefined {
  if (typeof origin !== "string") return undefined;
  try {
    const u = new URL(origin);
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password || (u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

/** True when `origin` names the same host and port the request was sent to. */
export function isSameOrigin(origin: string, host: string | undefined | null): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    if (o.protocol !== "http:" && o.protocol !== "https:") return false;
    const h = new URL(`${o.protocol}//${host}`);
    // Behind a TLS terminator Host may carry no port while Origin's is https' default.
    const port = (u: URL) => u.port || (o.protocol === "https:" ? "443" : "80");
    return o.hostname === h.hostname && port(o) === port(h) && h.pathname === "/" && !h.username;
  } catch {
    return false;
  }
}

/** True when the CORS policy lists `origin` (exactly, or by "*"). */
export function isListedOrigin(origin: string, cors: CorsPolicy | undefined): boolean {
  if (!cors) return false;
  if (cors.anyOrigin) return true;
  const normal = normalizeOrigin(origin);
  return normal !== undefined && cors.origins.has(normal);
}

export interface BrowserSignals {
  origin: string | null | undefined;
  host: string | null | undefined;
  secFetchSite: string | null | undefined;
  /** Whether the request can change something (anything but GET, HEAD and OPTIONS; every upgrade). */
  unsafe: boolean;
}

/**
 * The allow-list decision. With an `Origin`, it must be same-origin or listed. Without one, a
 * browser that still says `Sec-Fetch-Site: cross-site` may not make a request that changes state.
 */
export function originAllowed(s: BrowserSignals, cors: CorsPolicy | undefined): boolean {
  if (s.origin !== null && s.origin !== undefined) return isSameOrigin(s.origin, s.host) || isListedOrigin(s.origin, cors);
  return !(s.unsafe && s.secFetchSite?.trim().toLowerCase() === "cross-site");
}
