import { errors } from "../../common/errors.js";
import { readIncomingLimited } from "../incoming-body.js";

/**
 * An encoded message's size in bytes, for a cap of `limit`. A string is only scanned when it could
 * pass the cap (UTF-8 takes at most 3 bytes per UTF-16 unit): most answers skip the scan.
 */
export function byteSize(body: string | Uint8Array, limit: number): number {
  if (typeof body !== "string") return body.byteLength;
  return body.length * 3 <= limit ? body.length : Buffer.byteLength(body);
}

/**
 * A request body read with a cap. The client streams its bodies (`duplex: "half"`), so there may
 * be no Content-Length to check first: count while reading, and stop at the cap.
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  if (length !== null) {
    const declared = Number(length);
    if (!Number.isFinite(declared) || declared > limit) throw errors.bodyTooLarge(limit);
    // HTTP framing ends the body at its declared length, so reading it whole is bounded; and
    // arrayBuffer() lets @hono/node-server read the socket directly instead of building a stream.
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > limit) throw errors.bodyTooLarge(limit);
    return bytes;
  }
  const direct = readIncomingLimited(request, limit, () => errors.bodyTooLarge(limit));
  if (direct) return direct;
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw errors.bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
