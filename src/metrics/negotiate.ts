import type { Format } from "./render.js";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

export function contentTypeFor(format: Format): string {
  return format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
}

/**
 * Picks the exposition format from an Accept header: the acceptable format with the highest
 * q wins, the earlier-listed one on a tie; text 0.0.4 when nothing else is acceptable.
 */
export function negotiateFormat(accept: string | null | undefined): Format {
  if (!accept) return "prometheus";
  let best: { format: Format; q: number; index: number } | undefined;
  accept.split(",").forEach((range, index) => {
    const [mediaRaw, ...paramParts] = range.split(";");
    const media = mediaRaw!.trim().toLowerCase();
    const params = new Map<string, string>();
    for (const p of paramParts) {
      const eq = p.indexOf("=");
      if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"|"$/g, ""));
    }
    const qText = params.get("q");
    const q = qText === undefined ? 1 : Number(qText);
    if (!Number.isFinite(q) || q <= 0 || q > 1) return;
    const version = params.get("version");
    let format: Format | undefined;
    if (media === "application/openmetrics-text" && (version === undefined || version === "1.0.0")) format = "openmetrics";
    else if (media === "text/plain" && (version === undefined || version === "0.0.4")) format = "prometheus";
    else if (media === "*/*" || media === "text/*") format = "prometheus";
    if (format && (!best || q > best.q)) best = { format, q, index };
  });
  return best?.format ?? "prometheus";
}
