import type { WebSocket } from "ws";

/**
 * Keeps WebSockets honest with ping and pong: one timer pings every watched socket each
 * `pingIntervalMs`; a socket that sent nothing (no pong, no message) for longer than
 * `idleTimeoutMs` is handed to `onIdle`. So a silent peer is cut between `idleTimeoutMs` and
 * `idleTimeoutMs + pingIntervalMs` after it went quiet.
 */
export class Heartbeat {
  private readonly lastSeen = new Map<WebSocket, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pingIntervalMs: number,
    private readonly idleTimeoutMs: number,
    private readonly onIdle: (ws: WebSocket) => void,
  ) {}

  watch(ws: WebSocket): void {
    const seen = () => {
      if (this.lastSeen.has(ws)) this.lastSeen.set(ws, Date.now());
    };
    this.lastSeen.set(ws, Date.now());
    ws.on("pong", seen);
    ws.on("ping", seen);
    ws.on("message", seen);
    ws.once("close", () => this.forget(ws));
    this.timer ??= setInterval(() => this.tick(), this.pingIntervalMs).unref();
  }

  private forget(ws: WebSocket): void {
    this.lastSeen.delete(ws);
    if (this.lastSeen.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const now = Date.now();
    for (const [ws, at] of this.lastSeen) {
      if (now - at > this.idleTimeoutMs) {
        this.forget(ws);
        this.onIdle(ws);
      } else if (ws.readyState === ws.OPEN) {
        ws.ping();
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.lastSeen.clear();
  }
}
