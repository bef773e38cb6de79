import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";
import { toPublicError, TroupeError } from "../../common/errors.js";
import { serveRawSocket } from "../raw-socket.js";
import { closeWith } from "../ws-caps.js";
import { parseGatewayAddress, resolveTarget, type GatewayAddress } from "./gateway-routing.js";
import { failureCode, serveRivetConnection, type RivetConnectionContext } from "./ws-connection.js";
import { readRivetProtocols, type RivetSocketSetup } from "./ws-protocols.js";

/**
 * RivetKit's WebSocket upgrades, `/gateway/{actorId|name…}/connect` (a connection) and
 * `/gateway/…/websocket/{path}` (a raw socket), addressed as the HTTP gateway addresses them
 * (gateway-routing.ts). websocket.ts admits them with Troupe's own rules (origin, caps, deadline,
 * heartbeat) and hands them here once upgraded.
 */
export interface RivetUpgrade {
  kind: "connect" | "websocket";
  address: GatewayAddress;
  setup: RivetSocketSetup;
}

/** The path after `/gateway/` when the upgrade is RivetKit's, else undefined (not ours: a 404). */
export function rivetUpgradePath(pathname: string, prefix: string): string | undefined {
  const start = `${prefix}/gateway/`;
  if (!pathname.startsWith(start)) return undefined;
  const after = pathname.slice(start.length);
  const slash = after.indexOf("/");
  const rest = slash === -1 ? "" : after.slice(slash);
  return rest === "/connect" || rest === "/websocket" || rest.startsWith("/websocket/") ? after : undefined;
}

/** Reads the address and subprotocols; a bad one is the error the socket will be closed with. */
export function readRivetUpgrade(afterGateway: string, url: URL, req: IncomingMessage): RivetUpgrade | TroupeError {
  try {
    const address = parseGatewayAddress(afterGateway, url);
    const setup = readRivetProtocols(req.headers);
    return { kind: address.rest === "/connect" ? "connect" : "websocket", address, setup };
  } catch (err) {
    return toPublicError(err);
  }
}

/** The actor's view of a raw socket's URL: the path after `/websocket`, with the query but no `rvt-*` (as rivetkit). */
function rawPath(address: GatewayAddress): string {
  const path = address.rest.slice("/websocket".length) || "/";
  return address.search === "" ? path : `${path}?${address.search}`;
}

/** Serves an upgraded socket, or closes it with the reason its address or subprotocols were refused for. */
export function serveRivetUpgrade(ws: WebSocket, upgrade: RivetUpgrade | TroupeError, req: IncomingMessage, ctx: RivetConnectionContext): void {
  if (upgrade instanceof TroupeError) {
    ctx.admitted();
    // Only the close: the encoding itself may be what is wrong. The client rejects its open with the reason.
    closeWith(ws, failureCode(upgrade), upgrade);
    return;
  }
  const resolveId = (gw: Parameters<typeof resolveTarget>[0]) => resolveTarget(gw, upgrade.address.target);
  if (upgrade.kind === "connect") {
    void serveRivetConnection(ws, resolveId, upgrade.setup, ctx);
    return;
  }
  void serveRawSocket(ws, resolveId, rawPath(upgrade.address), req, upgrade.setup.params, ctx.deps, ctx.limits, ctx.admitted, ctx.register);
}
