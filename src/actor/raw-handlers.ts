import type { Logger } from "pino";
import { errors, TroupeError } from "../common/errors.js";
import type { ActorType } from "./actor-type.js";
import type { ActorContext } from "./context.js";
import type { Task } from "./task.js";

/** The server side of a raw WebSocket, wired by src/server/websocket.ts. */
export interface RawSocketControl {
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
  onMessage?: (data: string | Uint8Array) => void;
  onClose?: (code: number, reason: string) => void;
}

/** What the raw handlers need from their instance. */
export interface RawHost {
  readonly type: ActorType;
  readonly ctx: ActorContext<any, any, any, any>;
  readonly log: Logger;
  /** Runs `fn` as a turn. */
  runHook(label: string, fn: () => unknown, internal?: boolean): Promise<unknown>;
  /** Queues a task for its turn; it settles after the output gate opens. */
  enqueue(task: Task): void;
  /** Sends now, or after the current turn's commit. */
  emit(send: () => void): void;
  /** A closed socket lets only a live ("ready") instance go idle. */
  readonly status: string;
  /** A raw socket closed: the actor may be idle now. */
  afterTurn(): void;
}

/** `onRequest` and `onWebSocket`: raw HTTP and WebSockets, following the actor's turns and sleep. */
export class RawHandlers {
  /** Open raw sockets; they keep the actor awake. */
  readonly sockets = new Set<RawSocketControl>();

  constructor(private readonly host: RawHost) {}

  /** Serves a request with onRequest, as a turn; the response waits for the commit. */
  async handleRequest(request: Request): Promise<Response> {
    const { type, ctx, log } = this.host;
    const onRequest = type.config.onRequest;
    if (!onRequest) throw errors.rawHandlerNotFound(type.name, "onRequest");
    const m = type.metrics?.http;
    m?.active.inc();
    let status = 500;
    try {
      // A caller waits for it, so it counts against maxQueuedCalls; its answer passes the output gate.
      const res = await new Promise((resolve, reject) =>
        this.host.enqueue({ label: "onRequest", run: () => onRequest(ctx, request), resolve, reject, noRequeue: true, fromCaller: true }),
      );
      if (!(res instanceof Response)) {
        log.error({}, "onRequest must return a Response");
        throw errors.requestHandlerNoResponse();
      }
      status = res.status;
      return res;
    } catch (err) {
      if (err instanceof TroupeError) status = err.status;
      throw err;
    } finally {
      m?.active.dec();
      m?.requests[`${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx` as "2xx"].inc();
    }
  }

  /** Hands a raw socket to onWebSocket (as a turn); its listeners run as turns too. */
  async openSocket(control: RawSocketControl, request: { url: string; headers: Record<string, string | string[] | undefined> }): Promise<void> {
    const { type, ctx, log } = this.host;
    const onWebSocket = type.config.onWebSocket;
    if (!onWebSocket) throw errors.rawHandlerNotFound(type.name, "onWebSocket");
    this.sockets.add(control);
    type.metrics?.websocketsActive?.inc();
    const messageListeners: Array<(d: string | Uint8Array) => unknown> = [];
    const closeListeners: Array<(code: number, reason: string) => unknown> = [];
    const asTurn = (label: string, fn: () => unknown) => this.host.runHook(label, fn, true).catch((err) => log.error({ err }, `${label} listener failed`));
    control.onClose = (code, reason) => {
      if (!this.sockets.delete(control)) return;
      type.metrics?.websocketsActive?.dec();
      for (const l of closeListeners) void asTurn("websocket close", () => l(code, reason));
      if (this.host.status === "ready") this.host.afterTurn();
    };
    const socket = {
      send: (data: string | Uint8Array) => this.host.emit(() => control.send(data)),
      close: (code?: number, reason?: string) => control.close(code ?? 1000, reason ?? ""),
      onMessage: (l: (d: string | Uint8Array) => unknown) => void messageListeners.push(l),
      onClose: (l: (code: number, reason: string) => unknown) => void closeListeners.push(l),
    };
    try {
      await this.host.runHook("onWebSocket", () => onWebSocket(ctx, socket, request));
    } catch (err) {
      // Refused (the actor was going to sleep: the gateway retries on the next instance) or
      // failed: this instance must not keep the socket, nor close it, nor count it.
      if (this.sockets.delete(control)) type.metrics?.websocketsActive?.dec();
      control.onClose = undefined;
      throw err;
    }
    // Messages that arrived during onWebSocket were buffered by the server until now.
    control.onMessage = (data) => {
      for (const l of messageListeners) void asTurn("websocket message", () => l(data));
    };
  }

  closeAll(code: number, reason: string): void {
    for (const s of [...this.sockets]) s.close(code, reason);
  }
}
