import { pino, type Logger } from "pino";

/** The root logger; `TROUPE_LOG_LEVEL` sets the level (default "info"). */
export function createLogger(level?: string): Logger {
  return pino({
    name: "troupe",
    level: level ?? process.env.TROUPE_LOG_LEVEL ?? "info",
    // Defence in depth: secrets must never be logged, even if a caller passes a header bag.
    redact: { paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization", "params.secret*"], censor: "[redacted]" },
  });
}
