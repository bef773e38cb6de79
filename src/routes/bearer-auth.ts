// The default export, not named imports: test/bearer-auth.test.ts spies on crypto.timingSafeEqual.
import crypto from "node:crypto";

/** How a token-protected route is configured once resolved at startup. */
export type TokenAuth =
  | { mode: "token"; digest: Buffer }
  | { mode: "none" }
  | { mode: "disabled"; hint: string };

export type AuthResult = "ok" | "missing" | "malformed" | "invalid";

function sha256(s: string): Buffer {
  return crypto.createHash("sha256").update(s, "utf8").digest();
}

/** Rejects tokens that would be ambiguous in an Authorization header. */
export function checkConfiguredToken(token: string, what: string): void {
  if (token.length === 0) throw new Error(`${what} is empty; set a non-empty token or leave it unset`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`${what} contains whitespace or non-printable characters; use printable ASCII only`);
}

export function tokenAuth(token: string): TokenAuth {
  return { mode: "token", digest: sha256(token) };
}

/**
 * Checks `Authorization: Bearer <token>`. The scheme matches case-insensitively and may be
 * followed by one or more spaces (RFC 7235); surrounding whitespace is ignored. Both sides
 * are hashed first, so the comparison takes the same time whatever the token lengths. Every
 * check does exactly one comparison, even for a missing or malformed header.
 */
export function checkBearer(header: string | null, digest: Buffer): AuthResult {
  const m = header === null ? null : /^\s*bearer +(\S+)\s*$/i.exec(header);
  const equal = crypto.timingSafeEqual(sha256(m?.[1] ?? ""), digest);
  if (header === null) return "missing";
  if (!m) return "malformed";
  return equal ? "ok" : "invalid";
}
