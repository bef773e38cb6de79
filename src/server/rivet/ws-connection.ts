import type { Logger } from "pino";
import type { WebSocket } from "ws";
import { errors, toPublicError, TroupeError } from "../../common/errors.js";
import { toClient, toServer } from "../../protocol/rivet/codec.js";
import type { ToClient, ToServer } from "../../protocol/rivet/messages.js";
import type { ActorGateway, GatewayConnection } from "../../runtime/gateway.js";
import type { Limits } from "../limits.js";
import { closeWith, type Refuse } from "../ws-caps.js";
import { byteSize } from "./body.js";
import { ConnSession } from "../conn-session.js";
import type { RivetSocketSetup } from "./ws-protocols.js";
import { sendBatched } from "../ws-batch.js";

/**
 * A RivetKit connection (`/gateway/…/connect`) once the socket is upgraded: the server speaks
 * first with Init, then answers ActionRequest with ActionResponse or an Error carrying the
 * action's id, and turns SubscriptionRequest into subscribe/unsubscribe. Events (broadcasts and
 * conn.send) go out as Event frames. Caps, early frames and the close metric follow Troupe's own
 * connections (src/server/websocket.ts).
 */
export interface RivetConnectionDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
}

export interface RivetConnectionContext {
  deps: RivetConnectionDeps;
  limits: Limits;
  maxBuffered: number;
  /** Action results (and events) over this are not sent: message/outgoing_too_long. */
  maxResponseBytes: number;
  admitted: () => void;
  register: (refuse: Refuse) => void;
}

/** Closes for a connection that failed: the Error frame first (the client rejects its open with it). */
function failConnection(ws: WebSocket, code: number, err: TroupeError, send: (msg: ToClient) => void): void {
  const e = toPublicError(err);
  send({ tag: "Error", val: { group: e.group, code: e.code, message: e.message, ...(e.metadata !== undefined ? { metadata: e.metadata } : {}), actionId: null } });
  closeWith(ws, code, e);
}

/** The close code for a refused or failed connection: as Troupe's own connections. */
export function failureCode(err: TroupeError): number {
  return err.code === "connection_refused" || err.group === "user" ? 4403 : err.status === 404 ? 4404 : err.status === 400 ? 1008 : 1011;
}

function frameSender(ws: WebSocket, setup: RivetSocketSetup, ctx: RivetConnectionContext, onBackpressure: () => void) {
  return (msg: ToClient): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > ctx.maxBuffered) {
      onBackpressure();
      ws.close(1008, "connection.backpressure#the client is not reading");
      return;
    }
    let frame: string | Uint8Array;
    try {
      frame = toClient.encode(setup.encoding, msg);
    } catch (err) {
      // An output the encoding cannot carry (a cycle, say) must not throw here; the caller still gets an answer.
      ctx.deps.logger.error({ err, tag: msg.tag }, "could not encode a frame for a RivetKit connection");
      if (msg.tag !== "ActionResponse") return;
      const e = errors.internal();
      frame = toClient.encode(setup.encoding, { tag: "Error", val: { group: e.group, code: e.code, message: e.message, actionId: msg.val.id } });
    }
    const size = byteSize(frame, ctx.maxResponseBytes);
    if (size > ctx.maxResponseBytes) {
      const e = errors.outgoingTooLong(size, ctx.maxResponseBytes);
      if (msg.tag !== "ActionResponse") {
        // An event has no caller to tell: the actor's log says it was not sent.
        ctx.deps.logger.error({ tag: msg.tag, bytes: size, limitBytes: ctx.maxResponseBytes }, "a frame over maxResponseBytes was not sent");
        return;
      }
      frame = toClient.encode(setup.encoding, { tag: "Error", val: { group: e.group, code: e.code, message: e.message, metadata: e.metadata, actionId: msg.val.id } });
    }
    // cbor-x hands out views into a shared buffer: send exactly the frame's bytes.
    sendBatched(ws, typeof frame === "string" ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  };
}

export async function serveRivetConnection(ws: WebSocket, resolveId: (gw: ActorGateway) => Promise<string>, setup: RivetSocketSetup, ctx: RivetConnectionContext): Promise<void> {
  const { deps } = ctx;
  const send = frameSender(ws, setup, ctx, () => (session.closeReason = "error"));
  const onFrame = (bytes: Buffer, isBinary: boolean): void => {
    let msg: ToServer;
    try {
      // json arrives as text frames (read in place: the decoder copies nothing out of them), cbor
      // and bare as binary ones (the codec refuses text for those).
      msg = toServer.decode(setup.encoding, setup.encoding === "json" ? bytes : isBinary ? new Uint8Array(bytes) : bytes.toString("utf8"));
    } catch (err) {
      return session.refuse(1007, toPublicError(err));
    }
    if (msg.tag === "ActionRequest") {
      const id = msg.val.id;
      return session.call(
        bytes.byteLength,
        msg.val.name,
        msg.val.args,
        (output) => send({ tag: "ActionResponse", val: { id, output } }),
        (err) => {
          if (!(err instanceof TroupeError)) deps.logger.error({ err }, "unhandled error in RivetKit WebSocket action");
          const e = toPublicError(err);
          send({ tag: "Error", val: { group: e.group, code: e.code, message: e.message, ...(e.metadata !== undefined ? { metadata: e.metadata } : {}), actionId: id } });
        },
      );
    }
    if (msg.val.subscribe) session.subscribe(msg.val.eventName);
    else session.unsubscribe(msg.val.eventName);
  };
  const session = new ConnSession(ws, ctx.limits, deps.logger, onFrame);
  ctx.register(session.refuse);

  let actorId: string;
  let conn: GatewayConnection;
  try {
    const gateway = await deps.manager();
    actorId = await resolveId(gateway);
    conn = await gateway.connect(actorId, setup.params, {
      sendEvent: (name, args) => send({ tag: "Event", val: { name, args } }),
      close: (code, reason) => ws.close(code, reason),
    });
  } catch (err) {
    ctx.admitted();
    session.refused = true;
    session.closeReason = "error";
    if (!(err instanceof TroupeError)) deps.logger.error({ err }, "could not admit a RivetKit connection");
    const pub = toPublicError(err);
    failConnection(ws, failureCode(pub), pub, send);
    return;
  }
  session.admitted(conn, () => {
    ctx.admitted();
    send({ tag: "Init", val: { actorId, connectionId: conn.id } });
  });
}
