import { ActorError } from "./errors.js";
import { decodeBody, encodeBody, mimeOf, type Encoding } from "./wire.js";

export interface HttpOptions {
  endpoint: string;
  encoding: Encoding;
  fetch: typeof fetch;
  headers: Record<string, string>;
}

/** One HTTP round trip to the actor API; a non-2xx answer throws an ActorError. */
export async function request(opts: HttpOptions, method: string, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<any> {
  const headers: Record<string, string> = { ...opts.headers, ...extraHeaders, accept: mimeOf(opts.encoding) };
  let payload: string | Uint8Array | undefined;
  if (body !== undefined) {
    headers["content-type"] = mimeOf(opts.encoding);
    payload = encodeBody(body, opts.encoding);
  }
  const res = await opts.fetch(`${opts.endpoint}${path}`, { method, headers, body: payload as BodyInit | undefined });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const isCbor = (res.headers.get("content-type") ?? "").startsWith("application/cbor");
  let data: unknown;
  try {
    data = decodeBody(bytes, isCbor ? "cbor" : "json");
  } catch {
    throw new ActorError("client", "malformed_response", `Unreadable response (status ${res.status})`, undefined, res.status);
  }
  if (!res.ok) throw ActorError.from(data, res.status);
  return data;
}
