import { errors } from "../common/errors.js";

/** The params header of the protocol. Never the URL: it lands in access logs. */
const HEADER = "x-rivet-conn-params";

type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function read(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The JSON text of a caller's connection params, from a request's headers; undefined if none. */
export function paramsText(headers: HeaderSource): string | undefined {
  return read(headers, HEADER);
}

/** Parses params text; malformed JSON is the caller's error, never a refusal by the actor. */
export function parseParams(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw errors.malformedBody("connection params are not valid JSON");
  }
}

/** A caller's connection params from its request headers; they reach the actor's onBeforeConnect. */
export function connParams(headers: HeaderSource): unknown {
  return parseParams(paramsText(headers));
}
