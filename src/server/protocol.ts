import { z } from "zod";
import { cbor } from "../actor/state-codec.js";
import { errors } from "../common/errors.js";

/** Wire encodings: JSON by default, CBOR on request (docs/PROTOCOL.md). */
export type Encoding = "json" | "cbor";

export const CBOR_TYPE = "application/cbor";
export const JSON_TYPE = "application/json";

/**
 * The encoding a request body declares; `undefined` when it declares none (allowed only for an
 * empty body). Every other type is refused, even with an empty body: text/plain, form and
 * multipart are what a cross-site page may send without a CORS preflight.
 */
export function encodingOfContentType(contentType: string | undefined | null): Encoding | undefined {
  const mime = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mime === "") return undefined;
  if (mime === JSON_TYPE) return "json";
  if (mime === CBOR_TYPE) return "cbor";
  throw errors.unsupportedMediaType(mime);
}

export function encodingOfAccept(accept: string | undefined | null): Encoding {
  return accept?.toLowerCase().includes(CBOR_TYPE) ? "cbor" : "json";
}

export function decode(bytes: Uint8Array, encoding: Encoding): unknown {
  if (bytes.byteLength === 0) return undefined;
  try {
    if (encoding === "cbor") return cbor.decode(bytes);
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw errors.malformedBody(encoding === "cbor" ? "invalid CBOR" : err instanceof SyntaxError ? "invalid JSON" : "invalid UTF-8");
  }
}

export function encode(value: unknown, encoding: Encoding): Uint8Array | string {
  return encoding === "cbor" ? cbor.encode(value) : JSON.stringify(value);
}


// `key` is checked by normalizeKey, which answers invalid_key with the exact rule broken.
export const resolveBody = z.object({ name: z.string().min(1).max(64), key: z.unknown().optional(), input: z.unknown().optional() });
export const sendBody = z.object({ body: z.unknown(), wait: z.boolean().optional(), timeoutMs: z.number().int().positive().max(600_000).optional() });
export const actionBody = z.object({ args: z.array(z.unknown()).max(1024).optional() }).passthrough();

/** Client → server WebSocket messages. */
export const clientMessage = z.discriminatedUnion("t", [
  z.object({ t: z.literal("action"), id: z.number().int().nonnegative(), name: z.string().min(1).max(256), args: z.array(z.unknown()).max(1024).optional() }),
  z.object({ t: z.literal("sub"), event: z.string().min(1).max(256) }),
  z.object({ t: z.literal("unsub"), event: z.string().min(1).max(256) }),
]);
export type ClientMessage = z.infer<typeof clientMessage>;

/** Parses with a schema; a mismatch is a 400 naming the first problem. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw errors.invalidRequest(`Invalid request${where}: ${issue?.message ?? "bad shape"}`);
  }
  return r.data;
}
