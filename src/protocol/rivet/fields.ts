import { errors } from "../../common/errors.js";
import type { ActorSpecifier } from "./messages.js";

// Readers for the fields of a decoded message, which comes from the network and is checked
// before use. A wrong field is RivetKit's request/invalid (400).

export const invalid = (detail: string, cause?: unknown) => errors.rivetInvalidRequest(detail, cause);

export function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalid(`${what} must be an object`);
  return value as Record<string, unknown>;
}

export function string(value: unknown, what: string): string {
  if (typeof value !== "string") throw invalid(`${what} must be a string`);
  return value;
}

export function boolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw invalid(`${what} must be a boolean`);
  return value;
}

const U64_END = 2n ** 64n;

/** A u64 id: a bigint, or a plain integer from a writer that did not tag it (rivetkit's server takes both). */
export function uint(value: unknown, what: string): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value)) value = BigInt(value);
  if (typeof value !== "bigint" || value < 0n || value >= U64_END) throw invalid(`${what} must be an unsigned 64-bit integer`);
  return value;
}

export function optionalNumber(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(`${what} must be a number`);
  return value;
}

/** An argument list, normalized as rivetkit's server does: null or absent is none, a lone value is one. */
export function argList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === null || value === undefined ? [] : [value];
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be a list`);
  return value;
}

export function actorSpecifier(value: unknown): ActorSpecifier | undefined {
  if (value === undefined || value === null) return undefined;
  const a = record(value, "actor");
  const generation = a.generation;
  if (typeof generation !== "number" && typeof generation !== "bigint") throw invalid("actor.generation must be a number");
  return { actorId: string(a.actorId, "actor.actorId"), generation: Number(generation), ...(typeof a.key === "string" ? { key: a.key } : {}) };
}
