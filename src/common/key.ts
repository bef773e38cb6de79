import { errors } from "./errors.js";

/** Limits that keep keys cheap to index and safe to log. */
export const KEY_LIMITS = { maxParts: 16, maxPartBytes: 256, maxTotalBytes: 1024 } as const;

export type ActorKey = string[];

/** Accepts a string or an array of strings; returns the canonical array or throws invalid_key. */
export function normalizeKey(raw: unknown): ActorKey {
  const parts = typeof raw === "string" ? [raw] : raw === undefined ? [] : raw;
  if (!Array.isArray(parts)) throw errors.invalidKey("must be a string or an array of strings");
  if (parts.length > KEY_LIMITS.maxParts) throw errors.invalidKey(`at most ${KEY_LIMITS.maxParts} parts`);
  let total = 0;
  for (const [i, part] of parts.entries()) {
    if (typeof part !== "string") throw errors.invalidKey(`part ${i} is not a string`);
    if (!part.isWellFormed()) throw errors.invalidKey(`part ${i} is not well-formed UTF-16`);
    const bytes = Buffer.byteLength(part);
    if (bytes > KEY_LIMITS.maxPartBytes) throw errors.invalidKey(`part ${i} exceeds ${KEY_LIMITS.maxPartBytes} bytes`);
    total += bytes;
  }
  if (total > KEY_LIMITS.maxTotalBytes) throw errors.invalidKey(`total size exceeds ${KEY_LIMITS.maxTotalBytes} bytes`);
  return parts as ActorKey;
}

/** An unambiguous string form, used as the directory's unique index. */
export function keyToString(key: ActorKey | readonly string[]): string {
  return JSON.stringify(key);
}

/** One string per directory key: the name, a NUL, then the key's text (keyToString, as the stores keep it). */
export const keySlot = (name: string, keyText: string): string => `${name}\u0000${keyText}`;
