import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The real rivetkit 2.3.19 client, loaded from bench/peer (installed apart from Troupe by
// bench/peer/setup.sh) and driven with no network: a fake EngineControlClient hands each HTTP
// request to the test and returns its Response, and a fake WebSocket carries frames both ways.
// So what is checked is the client's own encoder and decoder, not a transcription of them.

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/peer/node_modules/rivetkit/dist/tsup");

/** Why the real client cannot be loaded, or undefined when it can. */
export function rivetkitMissing(): string | undefined {
  const pkg = path.join(DIST, "../../package.json");
  if (!fs.existsSync(pkg)) return "rivetkit is not installed in bench/peer (run `sh bench/peer/setup.sh`)";
  const version = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
  if (version !== "2.3.19") return `bench/peer has rivetkit ${version}, these checks are for 2.3.19`;
  return undefined;
}

/** The dist chunk (its name is a content hash) whose export list names `symbol`. */
function chunkExporting(symbol: string): string {
  for (const f of fs.readdirSync(DIST).filter((f) => /^chunk-.*\.js$/.test(f))) {
    const src = fs.readFileSync(path.join(DIST, f), "utf8");
    const exports = src.slice(src.lastIndexOf("\nexport {"));
    if (new RegExp(`[\\s,]${symbol}[\\s,]`).test(exports)) return path.join(DIST, f);
  }
  throw new Error(`no rivetkit chunk exports ${symbol}`);
}

export interface RivetkitClientModule {
  createClientWithDriver: (driver: unknown, options: { encoding: string }) => any;
}

export interface RivetkitSerde {
  jsonStringifyCompat(value: unknown): string;
  jsonParseCompat(text: string): unknown;
  encodeCborCompat(value: unknown): Uint8Array;
  decodeCborCompat(bytes: Uint8Array): unknown;
}

export async function loadRivetkit(): Promise<{ client: RivetkitClientModule; serde: RivetkitSerde }> {
  process.env.RIVET_LOG_LEVEL ??= "silent";
  const client = (await import(chunkExporting("createClientWithDriver"))) as RivetkitClientModule;
  const serde = (await import(chunkExporting("encodeCborCompat"))) as RivetkitSerde;
  return { client, serde };
}

/** A WebSocket as the client's driver returns it; `deliver` plays a server frame. */
export class FakeSocket {
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readyState = 1;
  binaryType = "arraybuffer";
  readonly sent: (string | Uint8Array)[] = [];
  #listeners = new Map<string, Set<(ev: unknown) => void>>();
  #waiters: (() => void)[] = [];

  addEventListener(type: string, fn: (ev: unknown) => void): void {
    const set = this.#listeners.get(type) ?? new Set();
    set.add(fn);
    this.#listeners.set(type, set);
  }
  removeEventListener(type: string, fn: (ev: unknown) => void): void {
    this.#listeners.get(type)?.delete(fn);
  }
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    this.sent.push(typeof data === "string" ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    for (const w of this.#waiters.splice(0)) w();
  }
  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#emit("close", { code, reason, wasClean: true });
  }
  /** A server frame: text stays text, bytes arrive as an ArrayBuffer (binaryType "arraybuffer"). */
  deliver(frame: string | Uint8Array): void {
    // A copy: the codec's cbor bytes are a view into cbor-x's shared buffer.
    this.#emit("message", { data: typeof frame === "string" ? frame : new Uint8Array(frame).buffer });
  }
  /** The next frame the client sends. */
  async next(timeoutMs = 2000): Promise<string | Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.sent.length === 0) {
      if (Date.now() > deadline) throw new Error("the client sent no frame");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.sent.shift()!;
  }
  #emit(type: string, ev: unknown): void {
    for (const fn of [...(this.#listeners.get(type) ?? [])]) fn(ev);
  }
}

export interface CapturedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: Uint8Array;
}

/**
 * An EngineControlClient that knows one actor and sends its HTTP requests to `http`, and its
 * connections to fresh FakeSockets (pushed to `sockets`).
 */
export function fakeDriver(http: (req: CapturedRequest) => Response | Promise<Response>) {
  const sockets: { path: string; encoding: string; params: unknown; socket: FakeSocket }[] = [];
  const actor = (actorId: string, name: string) => ({ actorId, name, key: [] as string[] });
  const driver = {
    getForId: async ({ name, actorId }: { name: string; actorId: string }) => actor(actorId, name),
    getWithKey: async ({ name }: { name: string }) => actor("actor-1", name),
    getOrCreateWithKey: async ({ name }: { name: string }) => actor("actor-1", name),
    createActor: async ({ name }: { name: string }) => actor("actor-1", name),
    listActors: async () => [],
    sendRequest: async (_target: unknown, request: Request) =>
      http({ url: request.url, method: request.method, headers: request.headers, body: new Uint8Array(await request.arrayBuffer()) }),
    openWebSocket: async (path: string, _target: unknown, encoding: string, params: unknown) => {
      const socket = new FakeSocket();
      sockets.push({ path, encoding, params, socket });
      return socket;
    },
    proxyRequest: async () => new Response(null, { status: 501 }),
    proxyWebSocket: async () => new Response(null, { status: 501 }),
    buildGatewayUrl: async () => "http://fake/gateway/actor-1",
    displayInformation: () => ({ properties: {} }),
    setGetUpgradeWebSocket: () => {},
  };
  return { driver, sockets };
}

/** Polls until `ready()` holds, failing after `timeoutMs`: the client handles frames asynchronously. */
export async function waitFor(ready: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
