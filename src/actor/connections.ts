import type { Logger } from "pino";
import type { ActorType } from "./actor-type.js";
import { Conn, type ConnTransport } from "./conn.js";
import type { ActorContext } from "./context.js";
import { admit } from "./admission.js";

/** What the connections need from their instance. */
export interface ConnectionsHost {
  readonly type: ActorType;
  readonly ctx: ActorContext<any, any, any, any>;
  readonly log: Logger;
  /** Runs `fn` as a turn of the instance. */
  runHook(label: string, fn: () => unknown, internal?: boolean): Promise<unknown>;
  /** Sends with the current turn's commit (the output gate). */
  emit(send: () => void): void;
  /** "crashed" once the instance was abandoned: no hooks run for it any more. */
  readonly status: string;
  /** A connection left: the actor may be idle now. */
  afterTurn(): void;
}

/** An instance's connected clients: admission, events, and the connections gauge. */
export class Connections {
  readonly map = new Map<string, Conn>();
  /** Stateless calls' connections: listed in `map` for their call, but not connections of the gauges or of a stop. Made on first use. */
  private held: Set<string> | undefined;

  constructor(private readonly host: ConnectionsHost) {}

  broadcast(event: string, args: unknown[]): void {
    if (this.map.size === 0) return;
    this.host.emit(() => {
      for (const conn of this.map.values()) conn.deliverBroadcast(event, args);
    });
  }

  /** onBeforeConnect, createConnState and onConnect as one turn; a throw anywhere admits nothing. */
  async connect(params: unknown, transport: ConnTransport): Promise<Conn> {
    const { type, ctx } = this.host;
    const cfg = type.config;
    return (await this.host.runHook("connect", async () => {
      const { state } = await admit(type, ctx, params);
      const c = new Conn(params, state, transport, (send) => this.host.emit(send));
      this.map.set(c.id, c);
      type.metrics?.connectionsActive.inc();
      type.metrics?.connectionsOpened.inc();
      try {
        await cfg.onConnect?.(ctx, c);
      } catch (err) {
        // The turn is rolled back, so the connection was never admitted.
        this.drop(c, "error");
        throw err;
      }
      return c;
    })) as Conn;
  }

  /** Lists a stateless call's connection until the returned function is called (the call runs its hooks). */
  hold(conn: Conn): () => void {
    this.map.set(conn.id, conn);
    const held = (this.held ??= new Set());
    held.add(conn.id);
    return () => {
      held.delete(conn.id);
      // Gone once empty: an actor that only takes stateless calls keeps no empty set awake.
      if (held.size === 0 && this.held === held) this.held = undefined;
      this.map.delete(conn.id);
    };
  }

  /** Forgets a connection without hooks; false if it was not registered (or is a held one). */
  drop(conn: Conn, reason: string): boolean {
    if (this.held?.has(conn.id) || !this.map.delete(conn.id)) return false;
    this.host.type.metrics?.connectionsActive.dec();
    this.host.type.metrics?.connectionsClosed(reason).inc();
    return true;
  }

  /** Removes a connection and runs onDisconnect as a turn. */
  disconnect(conn: Conn, reason: string): Promise<void> {
    if (!this.drop(conn, reason)) return Promise.resolve();
    const onDisconnect = this.host.type.config.onDisconnect;
    const done = onDisconnect && this.host.status !== "crashed" ? this.host.runHook("disconnect", () => onDisconnect(this.host.ctx, conn), true).then(() => {}) : Promise.resolve();
    return done.catch((err) => this.host.log.error({ err }, "onDisconnect failed")).finally(() => this.host.afterTurn());
  }

  /** Disconnects each with its onDisconnect hook, then closes its transport. */
  async disconnectAll(reason: string): Promise<void> {
    for (const conn of [...this.map.values()]) {
      if (this.held?.has(conn.id)) continue;
      await this.disconnect(conn, reason);
      conn.disconnectTransport(1001, reason);
    }
  }

  /** Closes every connection without hooks: the instance is being abandoned. */
  closeAll(code: number, reason: string): void {
    for (const conn of [...this.map.values()]) {
      if (this.held?.has(conn.id)) continue;
      this.drop(conn, "actor_stopped");
      conn.disconnectTransport(code, reason);
    }
  }
}
