import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import type { RawSocketControl } from "../actor/raw-handlers.js";
import { errors, toPublicError, TroupeError } from "../common/errors.js";
import type { ActorGateway } from "../runtime/gateway.js";
import type { Limits } from "./limits.js";
import { closeReason, closeWith, EarlyFrames, toBytes, type Refuse } from "./ws-caps.js";

export interface RawSocketDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
}

/**
 * A raw WebSocket for onWebSocket: bytes in, bytes out, no Troupe protocol. `actorId` may be a
 * resolver (RivetKit's by-key gateway addresses resolve once the socket is up); `reason` words the
 * failure close for the protocol the client speaks.
 */
export async function serveRawSocket(
  ws: WebSocket,
  actorId: string | ((gw: ActorGateway) => Promise<string>),
  path: string,
  req: IncomingMessage,
  params: unknown,
  deps: RawSocketDeps,
  limits: Limits,
  admitted: () => void,
  register: (refuse: Refuse) => void,
): Promise<void> {
  const early = new EarlyFrames<string | Uint8Array>(limits);
  let refused = false;
  const refuse: Refuse = (code, err) => {
    refused = true;
    early.take();
    closeWith(ws, code, err);
  };
  register(refuse);
  const control: RawSocketControl = {
    send: (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data);
    },
    close: (code, reason) => ws.close(code, reason.slice(0, 120)),
  };
  ws.on("message", (data, isBinary) => {
    if (refused) return;
    const bytes = toBytes(data);
    const value = isBinary ? bytes : bytes.toString();
    if (control.onMessage) control.onMessage(value);
    else if (!early.push(value, bytes.byteLength)) refuse(1008, errors.tooManyEarlyFrames(limits.maxEarlyFrames, limits.maxEarlyBytes));
  });
  const closed: { with?: [number, string] } = {};
  ws.on("close", (code, reason) => {
    closed.with = [code, reason.toString()];
    control.onClose?.(code, reason.toString());
  });
  ws.on("error", (err) => deps.logger.debug({ err }, "raw WebSocket error"));
  try {
    const gateway = await deps.manager();
    if (closed.with) return;
    const id = typeof actorId === "string" ? actorId : await actorId(gateway);
    if (closed.with) return;
    await gateway.openRawSocket(id, control, { url: path, headers: req.headers }, params);
    admitted();
    // Closed while onWebSocket ran: the actor registered a socket that is already gone.
    const late = closed.with as [number, string] | undefined;
    if (late) {
      control.onClose?.(...late);
      return;
    }
    for (const m of early.take()) control.onMessage?.(m);
  } catch (err) {
    admitted();
    const pub = toPublicError(err);
    if (!(err instanceof TroupeError)) deps.logger.error({ err }, "could not open a raw WebSocket");
    // A refusal by the auth hook is 4403, as for connections.
    ws.close(pub.status === 404 ? 4404 : pub.status === 403 ? 4403 : 1011, closeReason(pub));
  }
}
