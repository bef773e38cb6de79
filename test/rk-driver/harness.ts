import path from "node:path";
import { describe, type TestContext } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AnyActorDefinition, RegistryConfig } from "../../src/index.js";
import { startServer } from "../helpers/harness.js";
import { rivetkitMissing } from "../helpers/rivetkit-client.js";

// The shared harness of the ported RivetKit driver suite (rivetkit-typescript/packages/rivetkit/
// tests/driver/shared-{matrix,utils}.ts): each test gets a fresh Troupe server on 127.0.0.1 and
// a real rivetkit 2.3.19 client (bench/peer) in one encoding, as setupDriverTest gives each test
// a fresh namespace. Both are disposed when the test ends, whatever its outcome.

export const ENCODINGS = ["json", "cbor", "bare"] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** Why the real client cannot run here, or undefined. */
export const missing = rivetkitMissing();

const CLIENT_MOD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/peer/node_modules/rivetkit/dist/tsup/client/mod.js");

type CreateClient = (opts: Record<string, unknown>) => any;
let createClientPromise: Promise<CreateClient> | undefined;

/** rivetkit's own createClient, loaded once per process. */
export function loadCreateClient(): Promise<CreateClient> {
  process.env.RIVET_LOG_LEVEL ??= "silent";
  createClientPromise ??= import(pathToFileURL(CLIENT_MOD).href).then((m: { createClient: CreateClient }) => m.createClient);
  return createClientPromise;
}

export interface DriverSetup {
  /** The RivetKit client (untyped: the registry is Troupe's, the client is RivetKit's). */
  client: any;
  endpoint: string;
  encoding: Encoding;
  /** Another client on the same server, disposed with the test. */
  newClient(extra?: Record<string, unknown>): Promise<any>;
}

export type ServerOptions = Omit<RegistryConfig<Record<string, AnyActorDefinition>>, "use" | "logger">;

/**
 * A fresh server serving `use` and a client in `encoding`, torn down after the test (client
 * first, so its sockets close before the server stops).
 */
export async function setupDriverTest(t: TestContext, use: Record<string, AnyActorDefinition>, encoding: Encoding, server: ServerOptions = {}, clientOpts: Record<string, unknown> = {}): Promise<DriverSetup> {
  const createClient = await loadCreateClient();
  const h = await startServer({ ...server, use });
  const clients: any[] = [];
  const newClient = async (extra: Record<string, unknown> = {}) => {
    const c = createClient({ endpoint: h.url, encoding, disableMetadataLookup: true, ...clientOpts, ...extra });
    clients.push(c);
    return c;
  };
  const client = await newClient();
  t.after(async () => {
    // A dispose that hangs must not stall the run; the timer must not keep the process alive.
    for (const c of clients) await Promise.race([c.dispose().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
    await h.close();
  });
  return { client, endpoint: h.url, encoding, newClient };
}

/**
 * RivetKit's describeDriverMatrix: the suite once per encoding. Encodings run side by side
 * (every test has its own server), which keeps the timer-bound modules short.
 */
export function describeDriverMatrix(title: string, define: (encoding: Encoding) => void, opts: { encodings?: readonly Encoding[] } = {}): void {
  describe(title, { skip: missing, concurrency: true }, () => {
    for (const encoding of opts.encodings ?? ENCODINGS) describe(`encoding (${encoding})`, { concurrency: 1 }, () => define(encoding));
  });
}

/** Options for every ported test: a deadline, so a hang fails instead of stalling the run. */
export const T = { timeout: 15_000 } as const;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** vi.waitFor: retries `fn` until it stops throwing, rethrowing its last error at the deadline. */
export async function waitUntil<T>(fn: () => T | Promise<T>, opts: { timeout?: number; interval?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeout ?? 5000);
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(opts.interval ?? 25);
    }
  }
}

/** The error a promise rejects with; fails the test if it resolves instead. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    const value = await p;
    throw new Error(`expected a rejection, got ${safeJson(value)}`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("expected a rejection, got")) throw err;
    return err;
  }
}

function safeJson(v: unknown): string {
  try {
    return (JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)) ?? "undefined").slice(0, 200);
  } catch {
    return String(v);
  }
}

/** The next message event of a (client-side) WebSocket, or a rejection on close or timeout. */
export function nextMessage(ws: any, timeoutMs = 5000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error("timed out waiting for a WebSocket message"));
    }, timeoutMs);
    const onMessage = (ev: { data: unknown }) => {
      cleanup();
      resolve(ev.data);
    };
    const onClose = (ev: { code: number; reason: string }) => {
      cleanup();
      reject(new Error(`WebSocket closed (${ev.code} ${ev.reason}) before a message`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      ws.removeEventListener("message", onMessage);
      ws.removeEventListener("close", onClose);
    };
    ws.addEventListener("message", onMessage);
    ws.addEventListener("close", onClose);
  });
}

/** The next JSON text message matching `match`, skipping the others. */
export async function nextJson(ws: any, match: (m: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = await nextMessage(ws, Math.max(1, deadline - Date.now()));
    if (typeof data !== "string") continue;
    const m = JSON.parse(data);
    if (match(m)) return m;
  }
}

/** Resolves with the close event of a (client-side) WebSocket. */
export function closeEvent(ws: any, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === 3) return resolve({ code: -1, reason: "already closed" });
    const timer = setTimeout(() => reject(new Error("timed out waiting for the WebSocket to close")), timeoutMs);
    ws.addEventListener("close", (ev: { code: number; reason: string }) => {
      clearTimeout(timer);
      resolve({ code: ev.code, reason: ev.reason });
    });
  });
}

/** Waits until a client WebSocket is open (the client's webSocket() may hand it over connecting). */
export async function opened(ws: any, timeoutMs = 5000): Promise<void> {
  if (ws.readyState === 1) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for the WebSocket to open")), timeoutMs);
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.addEventListener("close", (ev: { code: number; reason: string }) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket closed (${ev.code} ${ev.reason}) before opening`));
    });
  });
}
