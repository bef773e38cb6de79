/**
 * RivetKit's actor key serialization (rivetkit 2.3.19 src/actor/keys.ts), as the client writes
 * `key` in `PUT`/`POST /actors` and `GET /actors?key=` and reads it back in answers:
 * parts joined by `/`, with `\` and `/` escaped by `\`, `""` written as `\0`, and the empty key
 * written as `/`. The reader is a port of rivetkit's, lenient quirks included (a trailing `\` is
 * kept as a literal), so a key means here what it means there; normalizeKey checks the result.
 */

export const EMPTY_KEY = "/";

export function serializeActorKey(key: readonly string[]): string {
  if (key.length === 0) return EMPTY_KEY;
  return key.map((part) => (part === "" ? "\\0" : part.replace(/\\/g, "\\\\").replace(/\//g, "\\/"))).join("/");
}

export function deserializeActorKey(text: string | null | undefined): string[] {
  if (text === undefined || text === null || text === EMPTY_KEY) return [];
  const parts: string[] = [];
  let current = "";
  let escaping = false;
  let emptyMarker = false;
  for (const ch of text) {
    if (escaping) {
      if (ch === "0") emptyMarker = true;
      else current += ch;
      escaping = false;
    } else if (ch === "\\") {
      escaping = true;
    } else if (ch === "/") {
      parts.push(emptyMarker ? "" : current);
      emptyMarker = false;
      current = "";
    } else {
      current += ch;
    }
  }
  if (escaping) parts.push(`${current}\\`);
  else if (emptyMarker) parts.push("");
  else if (current !== "" || parts.length > 0) parts.push(current);
  return parts;
}

/**
 * `rvt-key` on a gateway URL: the client joins the parts with a plain `,` and no escaping, and
 * leaves the parameter out for the empty key. So `a,b` is `["a","b"]` (a part holding a comma
 * cannot be told apart; the client has the same ambiguity) and a present but empty value is `[""]`.
 */
export function parseGatewayKey(value: string | null): string[] {
  return value === null ? [] : value.split(",");
}
