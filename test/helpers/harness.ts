import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { setup, type AnyActorDefinition, type RegistryConfig, type TroupeServer } from "../../src/index.js";
import { createClient, type ClientOptions } from "../../src/client/index.js";

// Under `npm test`, every test's logs go to TROUPE_TEST_LOG_DIR at trace level, so the last test
// can grep everything the suite logged for secrets; run alone, tests stay quiet.
const logDir = process.env.TROUPE_TEST_LOG_DIR;
export const quietLogger = logDir
  ? pino({ level: "trace" }, pino.destination({ dest: path.join(logDir, `test-${process.pid}.log`), append: true, sync: true }))
  : pino({ level: process.env.TROUPE_TEST_LOG_LEVEL ?? "silent" });

/** Starts a registry on an ephemeral loopback port; `close()` always shuts it down. */
export async function startServer<A extends Record<string, AnyActorDefinition>>(config: Omit<RegistryConfig<A>, "logger"> & { logger?: RegistryConfig<A>["logger"] }, clientOpts?: ClientOptions) {
  const registry = setup({ storage: { driver: "memory" }, logger: quietLogger, ...config } as RegistryConfig<A>);
  const server: TroupeServer = await registry.listen({ port: 0, host: "127.0.0.1", handleSignals: false });
  const client = createClient<typeof registry>(server.url, clientOpts);
  return { registry, server, url: server.url, client, close: () => server.close() };
}

/** A fresh folder under the OS temp dir, removed when the test process exits. */
export function tempDir(prefix = "troupe-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Raw HTTP helper returning status, headers and parsed JSON (or text). */
export async function http(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

export function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  return http(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `fn` returns true, failing after `timeoutMs`. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
