import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import { errors, type TroupeError } from "../common/errors.js";
import type { GatewayConnection } from "../runtime/gateway.js";
import type { Limits } from "./limits.js";
import { closeWith, EarlyFrames, PendingCalls, toBytes, type Refuse } from "./ws-caps.js";

/**
 * The protocol-independent half of a connection socket, shared by Troupe's protocol
 * (websocket.ts) and RivetKit's (rivet/ws-connection.ts): frames held until the actor admits
 * the connection, the caps on them, on calls in flight and on subscriptions, refusal, and the
 * reason the close metric is told. A protocol decodes frames and words answers; this does the rest.
 */
export class ConnSession {
  /** The close metric's reason unless the actor closed it. */
  closeReason = "client_closed";
  conn: GatewayConnection | undefined;
  /** The socket closed. */
  closed = false;
  /** The server decided to close: nothing more is read or held. */
  refused = false;
  private early: EarlyFrames<[Buffer, boolean]> | undefined;
  private readonly pending: PendingCalls;
  private readonly subscriptions = new Set<string>();

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: Limits,
    logger: Logger,
    /** Handles one frame once the connection is admitted. */
    private readonly handle: (bytes: Buffer, isBinary: boolean) => void,
  ) {
    this.early = new EarlyFrames(limits);
    this.pending = new PendingCalls(limits);
    ws.on("message", (data: RawData, isBinary: boolean) => this.receive(toBytes(data), isBinary));
    ws.on("error", (err) => {
      this.closeReason = "error";
      logger.debug({ err }, "WebSocket error");
    });
    ws.on("close", (code) => {
      this.closed = true;
      if (code === 1009) this.closeReason = "error";
      if (this.conn) void this.conn.closed(this.closeReason);
    });
  }

  /** Closes for a cap, a timeout or a bad frame (counted as an error close). */
  readonly refuse: Refuse = (code: number, err: TroupeError) => {
    this.refused = true;
    this.closeReason = "error";
    this.early?.take();
    closeWith(this.ws, code, err);
  };

  private receive(bytes: Buffer, isBinary: boolean): void {
    if (this.refused) return;
    if (this.early) {
      if (!this.early.push([bytes, isBinary], bytes.byteLength)) this.refuse(1008, errors.tooManyEarlyFrames(this.limits.maxEarlyFrames, this.limits.maxEarlyBytes));
      return;
    }
    this.handle(bytes, isBinary);
  }

  /** An action over the connection, within the pending-call caps; `size` is its frame's bytes. */
  call(size: number, name: string, args: unknown[], answered: (output: unknown) => void, failed: (err: unknown) => void): void {
    const settle = this.pending.admit(size);
    if (!settle) return this.refuse(1008, errors.tooManyPendingCalls(this.limits.maxPendingCalls, this.limits.maxPendingCallBytes));
    this.conn!.call(name, args).then(
      (output) => {
        settle();
        answered(output);
      },
      (err) => {
        settle();
        failed(err);
      },
    );
  }

  subscribe(event: string): void {
    if (!this.subscriptions.has(event) && this.subscriptions.size >= this.limits.maxSubscriptions) return this.refuse(1008, errors.tooManySubscriptions(this.limits.maxSubscriptions));
    this.subscriptions.add(event);
    this.conn!.subscribe(event);
  }

  unsubscribe(event: string): void {
    this.subscriptions.delete(event);
    this.conn!.unsubscribe(event);
  }

  /**
   * The actor admitted the connection. Returns false when the socket closed meanwhile (the
   * connection is released) or is closing; otherwise `hello` is sent and held frames are handled.
   */
  admitted(conn: GatewayConnection, hello: () => void): boolean {
    this.conn = conn;
    if (this.closed) {
      void conn.closed(this.closeReason);
      return false;
    }
    // Closing already (a cap or the upgrade deadline): the close event releases the connection.
    if (this.ws.readyState !== this.ws.OPEN) return false;
    hello();
    const queued = this.early!.take();
    this.early = undefined;
    for (const [bytes, isBinary] of queued) this.handle(bytes, isBinary);
    return true;
  }
}
