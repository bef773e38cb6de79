import { errors, TroupeError, UserError } from "../common/errors.js";
import type { ActorType } from "./actor-type.js";
import { Conn, type ConnTransport } from "./conn.js";
import type { ActorContext } from "./context.js";

/**
 * The one auth path. Every caller from outside an admitted connection (an HTTP action, a
 * queue send, a raw request or socket, an in-process call) and every new connection passes
 * `onBeforeConnect` with its params; a throw refuses it. Calls that carry a connection state
 * (WebSocket connections, and stateless actions of a type that declares one) get it from
 * `createConnState`, as RivetKit does.
 */
export async function authorize(type: ActorType, ctx: ActorContext<any, any, any, any>, params: unknown): Promise<void> {
  try {
    await type.config.onBeforeConnect?.(ctx, params);
  } catch (err) {
    // A refusal answers 403 whatever it says: the actor's own code for a UserError, else connection_refused.
    if (err instanceof UserError) throw new UserError(err.message, { code: err.code, metadata: err.metadata, status: 403 });
    throw err instanceof TroupeError ? err : errors.connectionRefused("Connection refused by the actor");
  }
}

/** Authorizes, then makes the connection's state. */
export async function admit(type: ActorType, ctx: ActorContext<any, any, any, any>, params: unknown): Promise<{ state: unknown }> {
  await authorize(type, ctx, params);
  const cfg = type.config;
  return { state: cfg.createConnState ? await cfg.createConnState(ctx, params) : structuredClone(cfg.connState) };
}

/** A stateless call has no transport: what it sends to `c.conn` goes nowhere. */
const NO_TRANSPORT: ConnTransport = { sendEvent: () => {}, close: () => {} };

/** `c.conn` for one stateless call: admitted like a connection, gone when the call ends. */
export async function statelessConn(type: ActorType, ctx: ActorContext<any, any, any, any>, params: unknown): Promise<Conn> {
  const { state } = await admit(type, ctx, params);
  return new Conn(params, state, NO_TRANSPORT, () => {});
}
