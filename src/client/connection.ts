import { ActorError } from "./errors.js";
import { decodeMessage, encodeMessage, type Encoding } from "./wire.js";

/** The subset of the WebSocket API used here; browsers' and the `ws` package's both fit. */
interface SocketLike {
  binaryType: string;
  readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** Server frames (docs/PROTOCOL.md, "WebSocket"); ids are bigints on the wire. */
type ServerFrame =
  | { tag: "Init"; val: { actorId: string; connectionId: string } }
  | { tag: "ActionResponse"; val: { id: bigint | number; output: unknown } }
  | { tag: "Error"; val: { group: string; code: string; message: string; metadata?: unknown; actionId: bigint | number | null } }
  | { tag: "Event"; val: { name: string; args: unknown[] } };

async function openSocket(url: string, protocols: string[]): Promise<SocketLike> {
  const Native = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => SocketLike }).WebSocket;
  if (Native) return new Native(url, protocols);
  const { WebSocket } = await import("ws");
  return new WebSocket(url, protocols) as unknown as SocketLike;
}

/**
 * A client connection (`/gateway/{actorId}/connect`). Calls made before the socket opens are
 * queued; replies are matched to calls by id. Params ride in a subprotocol entry so they never
 * appear in a URL.
 */
export class Connection {
  private socket: SocketLike | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  private readonly listeners = new Map<string, Set<(...args: any[]) => void>>();
  private readonly errorListeners = new Set<(e: Error) => void>();
  private readonly closeListeners = new Set<(info: { code: number; reason: string; reconnecting?: boolean }) => void>();
  private outbox: Array<string | Uint8Array> = [];
  private closed: { code: number; reason: string } | undefined;
  /** Why the server refused or dropped us, when it said so before closing. */
  private refusal: ActorError | undefined;
  private readonly readyPromise: Promise<{ actorId: string; connId: string }>;
  private settleReady!: { resolve(v: { actorId: string; connId: string }): void; reject(e: unknown): void };

  private readonly protocols: string[];
  private reconnects = 0;
  private disposed = false;

  constructor(
    private readonly resolveUrl: () => Promise<string>,
    params: unknown,
    private readonly encoding: Encoding,
    /** Reconnect after the server dropped the connection (restart, actor slept, network). */
    private readonly reconnect = true,
  ) {
    this.readyPromise = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.readyPromise.catch(() => {});
    this.protocols = ["rivet", `rivet_encoding.${encoding}`];
    if (params !== undefined) this.protocols.push(`rivet_conn_params.${subprotocolSafe(JSON.stringify(params))}`);
    this.open();
  }

  private open(): void {
    this.resolveUrl()
      .then((url) => openSocket(url, this.protocols))
      .then((socket) => this.attach(socket))
      .catch((err) => {
        const error = err instanceof ActorError ? err : new ActorError("client", "connect_failed", String((err as Error)?.message ?? err));
        // A refusal by the server (no such actor, bad request) is final; a transport failure is retried.
        if (this.reconnects > 0 && !(err instanceof ActorError)) this.scheduleReconnect();
        else this.finish(1006, "connect_failed", error);
      });
  }

  private attach(socket: SocketLike): void {
    if (this.closed || this.disposed) {
      socket.close(1000, "disposed");
      return;
    }
    this.socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      // After a reconnect, subscribe again before anything queued meanwhile.
      if (this.reconnects > 0) for (const event of this.listeners.keys()) socket.send(this.frame(subscription(event, true)));
      for (const frame of this.outbox) socket.send(frame);
      this.outbox = [];
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => {};
    socket.onclose = (ev) => this.onSocketClose(ev.code, ev.reason);
  }

  /**
   * Codes after which the server means "come back": going away (shutdown, actor slept),
   * abnormal closure (network), and restart. A refusal, a kick or a protocol error is final.
   */
  private onSocketClose(code: number, reason: string): void {
    this.socket = undefined;
    const transient = code === 1001 || code === 1006 || code === 1011 || code === 1012 || code === 1013;
    if (!this.reconnect || this.disposed || this.refusal || !transient) {
      this.finish(code, reason);
      return;
    }
    // Calls in flight may or may not have run: they fail; later calls wait for the new socket.
    const lost = new ActorError("client", "connection_lost", `The connection dropped (${code} ${reason}) before the reply; the call may or may not have run`);
    for (const p of this.pending.values()) p.reject(lost);
    this.pending.clear();
    for (const l of this.closeListeners) l({ code, reason, reconnecting: true });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.reconnects, 6));
    this.reconnects++;
    const timer = setTimeout(() => {
      if (!this.disposed && !this.closed) this.open();
    }, delay);
    // Reconnecting alone does not keep a Node process alive.
    (timer as { unref?: () => void }).unref?.();
  }

  private receive(data: unknown): void {
    let msg: ServerFrame;
    try {
      msg = (decodeMessage(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer), this.encoding) as { body: ServerFrame }).body;
    } catch {
      return;
    }
    if (msg.tag === "ActionResponse") {
      const id = Number(msg.val.id);
      const p = this.pending.get(id);
      this.pending.delete(id);
      p?.resolve(msg.val.output);
    } else if (msg.tag === "Event") {
      for (const l of this.listeners.get(msg.val.name) ?? []) l(...msg.val.args);
    } else if (msg.tag === "Init") {
      this.settleReady.resolve({ actorId: msg.val.actorId, connId: msg.val.connectionId });
    } else if (msg.tag === "Error") {
      const err = ActorError.from(msg.val);
      if (msg.val.actionId !== null && msg.val.actionId !== undefined) {
        const id = Number(msg.val.actionId);
        const p = this.pending.get(id);
        this.pending.delete(id);
        p?.reject(err);
      } else {
        if (!this.refusal) {
          this.refusal = err;
          for (const l of this.errorListeners) l(err);
        }
        this.settleReady.reject(err);
      }
    }
  }

  private frame(body: unknown): string | Uint8Array {
    return encodeMessage({ body }, this.encoding);
  }

  private send(body: unknown): void {
    const frame = this.frame(body);
    if (this.socket && this.socket.readyState === 1) this.socket.send(frame);
    else this.outbox.push(frame);
  }

  call(name: string, args: unknown[]): Promise<unknown> {
    if (this.closed || this.refusal) return Promise.reject(this.closedError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ tag: "ActionRequest", val: { id: BigInt(id), name, args } });
    });
  }

  on(event: string, listener: (...args: any[]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
      this.send(subscription(event, true));
    }
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.listeners.get(event) === set) {
        this.listeners.delete(event);
        if (!this.closed) this.send(subscription(event, false));
      }
    };
  }

  once(event: string, listener: (...args: any[]) => void): () => void {
    const off = this.on(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  onError(listener: (e: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onClose(listener: (info: { code: number; reason: string; reconnecting?: boolean }) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  ready(): Promise<{ actorId: string; connId: string }> {
    return this.readyPromise;
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.disposed = true;
    const socket = this.socket;
    if (!socket) {
      this.finish(1000, "disposed");
      return;
    }
    await new Promise<void>((resolve) => {
      this.closeListeners.add(() => resolve());
      socket.close(1000, "disposed");
    });
  }

  private closedError(): ActorError {
    return this.refusal ?? new ActorError("client", "connection_closed", `Connection closed (${this.closed?.code ?? 0} ${this.closed?.reason ?? ""})`.trim());
  }

  private finish(code: number, reason: string, error?: ActorError): void {
    if (this.closed) return;
    this.closed = { code, reason };
    if (error && !this.refusal) {
      this.refusal = error;
      for (const l of this.errorListeners) l(error);
    }
    const err = this.closedError();
    this.settleReady.reject(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.socket = undefined;
    for (const l of this.closeListeners) l({ code, reason });
  }
}

function subscription(eventName: string, subscribe: boolean) {
  return { tag: "SubscriptionRequest", val: { eventName, subscribe } };
}

/** URL encoding, plus the characters encodeURIComponent keeps that a subprotocol token may not hold. */
function subprotocolSafe(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}
