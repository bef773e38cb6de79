import { createRequire } from "node:module";

// Read at run time so /health and /metadata always report the installed package's version.
const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };

export const VERSION: string = pkg.version;

/** Bumped when the HTTP or WebSocket wire protocol changes incompatibly (docs/PROTOCOL.md). */
export const PROTOCOL_VERSION = 1;
