import { errors } from "../common/errors.js";

/** Small response helpers shared by the routes. */

export const NO_STORE = { "cache-control": "no-store" } as const;

export function json(status: number, body: unknown, method: string, extra: Record<string, string> = {}): Response {
  return new Response(method === "HEAD" ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...NO_STORE, ...extra },
  });
}

export function text(status: number, body: string, method: string, extra: Record<string, string> = {}): Response {
  return new Response(method === "HEAD" ? null : body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...NO_STORE, ...extra },
  });
}

/** 405 for anything but GET and HEAD, in the RivetKit error shape. */
export function methodNotAllowed(_method: string): Response {
  return json(405, errors.methodNotAllowed("GET or HEAD").toPayload(), "GET", { allow: "GET, HEAD" });
}

export function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}
