import { randomBytes } from "node:crypto";

/** What a connection's transport (a WebSocket today) must offer the actor. */
export interface ConnTransport {
  sendEvent(name: string, args: unknown[]): void;
  close(code: number, reason: string): void;
}

/** The server-side view of one connected client. */
export class Conn<TParams = unknown, TState = unknown> {
  readonly id = randomBytes(9).toString("base64url");
  readonly openedAt = Date.now();
  state: TState;
  /** Events the client listens to; broadcasts skip connections that did not subscribe. */
  readonly subscriptions = new Set<string>();

  constructor(
    readonly params: TParams,
    state: TState,
    private readonly transport: ConnTransport,
    private readonly gate: (send: () => void) => void,
  ) {
    this.state = state;
  }

  /** Sends an event to this connection only, after the state it reflects is durable. */
  send(event: string, ...args: unknown[]): void {
    this.gate(() => this.transport.sendEvent(event, args));
  }

  /** Why the server closed it, for the close metric; unset when the client closed. @internal */
  closedBy: string | undefined;

  /** Closes the connection from the actor's side. */
  disconnect(reason = "server_closed"): void {
    this.closedBy = "server_closed";
    this.transport.close(1000, reason.slice(0, 120));
  }

  /** @internal Closes the transport without running hooks (the actor already removed it). */
  disconnectTransport(code: number, reason: string): void {
    this.transport.close(code, reason);
  }

  /** @internal */
  deliverBroadcast(event: string, args: unknown[]): void {
    if (this.subscriptions.has(event)) this.transport.sendEvent(event, args);
  }
}
