import { ActorError } from "./errors.js";
import { CONTENT_TYPE, decodeMessage, encodeMessage, type Encoding } from "./wire.js";

export interface HttpOptions {
  endpoint: string;
  encoding: Encoding;
  fetch: typeof fetch;
  headers: Record<string, string>;
}

async function answer(res: Response, encoding: Encoding): Promise<any> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const isJson = (res.headers.get("content-type") ?? "").startsWith("application/json");
  let data: unknown;
  try {
    data = isJson ? decodeMessage(new TextDecoder().decode(bytes), "json") : decodeMessage(bytes, encoding);
  } catch {
    throw new ActorError("client", "malformed_response", `Unreadable response (status ${res.status})`, undefined, res.status);
  }
  if (!res.ok) throw ActorError.from(data, res.status);
  return data;
}

/** The management API (`/actors`): JSON both ways. A non-2xx answer throws an ActorError. */
export async function manage(opts: HttpOptions, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await opts.fetch(`${opts.endpoint}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return answer(res, "json");
}

/** An actor request through the gateway, `POST /gateway/{actorId}{rest}`, in the client's encoding. */
export async function actorRequest(opts: HttpOptions, actorId: string, rest: string, message: unknown, params: unknown): Promise<any> {
  const headers: Record<string, string> = { ...opts.headers, "content-type": CONTENT_TYPE[opts.encoding], "x-rivet-encoding": opts.encoding };
  if (params !== undefined) headers["x-rivet-conn-params"] = JSON.stringify(params);
  const res = await opts.fetch(`${opts.endpoint}/gateway/${encodeURIComponent(actorId)}${rest}`, {
    method: "POST",
    headers,
    body: encodeMessage(message, opts.encoding) as BodyInit,
  });
  return answer(res, opts.encoding);
}
