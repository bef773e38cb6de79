const SECRET_KEY = /secret|token|password|passwd|auth|credential|api[-_]?key|private/i;

/** Copies `value`, replacing the values of secret-looking keys with "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

/** What `c.vars` holds, without its values (vars often carry handles and secrets). */
export function summarizeVars(vars: unknown): { type: string; keys?: string[] } {
  if (vars === undefined || vars === null) return { type: String(vars) };
  if (typeof vars !== "object") return { type: typeof vars };
  const proto = Object.getPrototypeOf(vars) as { constructor?: { name?: string } } | null;
  return { type: proto?.constructor?.name ?? "object", keys: Object.keys(vars).slice(0, 100) };
}
