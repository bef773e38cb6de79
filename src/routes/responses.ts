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
export function methodNotAllowed(method: string): Response {
  return json(405, { group: "request", code: "method_not_allowed", message: `Method ${method.slice(0, 16)} is not allowed; use GET or HEAD` }, "GET", { allow: "GET, HEAD" });
}

export function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}
