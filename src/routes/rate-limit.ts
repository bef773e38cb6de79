import { errors } from "../common/errors.js";
import { checkBearer, type AuthResult } from "./bearer-auth.js";
import { json } from "./responses.js";

/**
 * Failed token attempts per client address, as a token bucket: each address may fail
 * `perMinute` times at once, then once every `60 / perMinute` seconds. Only wrong tokens
 * count; a request without one never does.
 */
export interface AuthLimiter {
  /** Seconds until `request`'s address may try a token again; undefined when it may now. */
  retryAfter(request: Request): number | undefined;
  /** Counts a wrong token from `request`'s address. */
  failed(request: Request): void;
}

export interface AuthLimiterOptions {
  perMinute: number;
  /** The key a request's address is kept under (see src/server/client-address.ts). */
  address: (request: Request) => string;
  /** Addresses remembered at once; the least recently failed is forgotten first. Default 10,000. */
  maxTracked?: number;
  now?: () => number;
}

export function createAuthLimiter(opts: AuthLimiterOptions): AuthLimiter {
  if (opts.perMinute === Infinity) return { retryAfter: () => undefined, failed: () => {} };
  const capacity = opts.perMinute;
  const perMs = opts.perMinute / 60_000;
  const maxTracked = opts.maxTracked ?? 10_000;
  const now = opts.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();

  const level = (key: string, t: number): number => {
    const b = buckets.get(key);
    if (!b) return capacity;
    const tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
    if (tokens >= capacity) buckets.delete(key);
    return tokens;
  };
  return {
    retryAfter(request) {
      const tokens = level(opts.address(request), now());
      return tokens >= 1 ? undefined : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
    },
    failed(request) {
      const key = opts.address(request);
      const t = now();
      const tokens = level(key, t) - 1;
      // Re-inserted so the map's order is least recently failed first.
      buckets.delete(key);
      buckets.set(key, { tokens, at: t });
      if (buckets.size > maxTracked) buckets.delete(buckets.keys().next().value!);
    },
  };
}

/**
 * `checkBearer` behind the limiter. An address past its budget gets `{ retryAfter }` for any
 * request that carries a token, right or wrong, without the token being compared: otherwise a
 * 200 among the 429s would tell a guesser it had found the token.
 */
export function limitedBearer(request: Request, digest: Buffer, limiter: AuthLimiter | undefined): AuthResult | { retryAfter: number } {
  const header = request.headers.get("authorization");
  if (limiter && header !== null) {
    const retryAfter = limiter.retryAfter(request);
    if (retryAfter !== undefined) return { retryAfter };
  }
  const result = checkBearer(header, digest);
  if (result === "invalid") limiter?.failed(request);
  return result;
}

/** 429 `too_many_auth_failures` with `Retry-After`. */
export function tooManyFailures(retryAfter: number, method: string): Response {
  return json(429, errors.tooManyAuthFailures(retryAfter).toPayload(), method, { "retry-after": String(retryAfter) });
}
