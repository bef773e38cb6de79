import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import { errors, TroupeError } from "../common/errors.js";
import type { ActorGateway } from "../runtime/gateway.js";
import { AddressTally } from "./address-tally.js";
import { upgradeAddress, type ClientAddressFn } from "./client-address.js";
import { Heartbeat } from "./heartbeat.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { originAllowed, type CorsPolicy } from "./origin.js";
import { offeredProtocols, RIVET_SUBPROTOCOL } from "./rivet/ws-protocols.js";
import { readRivetUpgrade, rivetUpgradePath, serveRivetUpgrade } from "./rivet/ws-upgrade.js";
import { closeWith, nameOversizeCloses, type Refuse } from "./ws-caps.js";

export interface WebSocketDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
  maxMessageBytes: number;
  /** Largest action result a connection sends (message/outgoing_too_long beyond). */
  maxResponseBytes?: number;
  accepting: () => boolean;
  /** A client that stops reading may not make the server buffer more than this. */
  maxBufferedBytes?: number;
  /** Caps and timeouts (src/server/limits.ts); the defaults when omitted. */
  limits?: Limits;
  /** Browser origins allowed besides same-origin pages (`setup({ cors })`). */
  cors?: CorsPolicy;
  /** Names the client for the per-address cap (`setup({ clientAddress })`). */
  clientAddress?: ClientAddressFn;
}


/** Where an upgraded socket stands until it is admitted: the upgrade deadline acts on it. */
interface Admission {
  ws?: WebSocket;
  done: boolean;
}

/**
 * Handles the protocol's upgrades, `GET {basePath}/gateway/{actor}/connect` (a connection) and
 * `/gateway/{actor}/websocket/{path}` (a raw socket), for a Node HTTP server: origin, caps,
 * deadline and heartbeat here, the rest in src/server/rivet/ws-upgrade.ts. Params travel in a
 * subprotocol entry or header, never the URL, so they stay out of access logs.
 */
export function createUpgradeHandler(deps: WebSocketDeps, basePath = "/") {
  const prefix = basePath.replace(/\/+$/, "");
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxMessageBytes,
    // The answer must name a protocol the client offered: `rivet`.
    handleProtocols: (protocols) => (protocols.has(RIVET_SUBPROTOCOL) ? RIVET_SUBPROTOCOL : false),
  });
  const maxBuffered = deps.maxBufferedBytes ?? 8 * 1024 * 1024;
  const tally = new AddressTally(limits.maxWebSockets, limits.maxWebSocketsPerAddress);
  const refusers = new WeakMap<WebSocket, Refuse>();
  const refuse = (ws: WebSocket, code: number, err: TroupeError): void => {
    const own = refusers.get(ws);
    if (own) own(code, err);
    else closeWith(ws, code, err);
  };
  const heartbeat = new Heartbeat(limits.pingIntervalMs, limits.idleTimeoutMs, (ws) => refuse(ws, 1001, errors.idleTimeout(limits.idleTimeoutMs)));

  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const rivetPath = rivetUpgradePath(url.pathname, prefix);
    if (rivetPath === undefined) return false;
    // Node's request timeouts stop at the upgrade: from here on this deadline bounds the socket.
    const admission: Admission = { done: false };
    const deadline = setTimeout(() => {
      if (admission.done) return;
      if (admission.ws) refuse(admission.ws, 1013, errors.upgradeTimedOut(limits.upgradeTimeoutMs));
      else socket.destroy();
    }, limits.upgradeTimeoutMs).unref();
    const admitted = () => {
      admission.done = true;
      clearTimeout(deadline);
    };
    socket.once("close", admitted);

    if (!deps.accepting()) return rejectUpgrade(socket, errors.stopping());
    const origin = req.headers.origin;
    if (!originAllowed({ origin, host: req.headers.host, secFetchSite: header(req, "sec-fetch-site"), unsafe: true }, deps.cors)) {
      return rejectUpgrade(socket, errors.originNotAllowed(origin ?? "(none, Sec-Fetch-Site: cross-site)"));
    }
    // A bad address or subprotocol is closed after the upgrade, with a reason the client reads.
    const rivet = readRivetUpgrade(rivetPath, url, req);
    // A connection's frames are the protocol's: a client that does not offer it cannot read them.
    if (!(rivet instanceof TroupeError) && rivet.kind === "connect" && !offeredProtocols(req.headers["sec-websocket-protocol"]).includes(RIVET_SUBPROTOCOL)) {
      return rejectUpgrade(socket, errors.rivetInvalidRequest("a connection must offer the `rivet` subprotocol"));
    }
    const address = upgradeAddress(req, deps.clientAddress);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const refusal = tally.admit(address);
      if (refusal) {
        admitted();
        closeWith(ws, refusal.code === "server_at_capacity" ? 1013 : 1008, refusal);
        return;
      }
      ws.once("close", () => tally.release(address));
      heartbeat.watch(ws);
      admission.ws = ws;
      const register = (r: Refuse) => refusers.set(ws, r);
      nameOversizeCloses(ws, deps.maxMessageBytes);
      serveRivetUpgrade(ws, rivet, req, { deps, limits, maxBuffered, maxResponseBytes: deps.maxResponseBytes ?? 1024 * 1024, admitted, register });
    });
    return true;
  };
  return {
    handler,
    close: () => {
      heartbeat.close();
      wss.close();
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Answers an upgrade with an HTTP error in the usual error shape, then lets the socket go. */
function rejectUpgrade(socket: Duplex, err: TroupeError): true {
  const body = JSON.stringify(err.toPayload());
  // Destroy once the answer is flushed: a peer that never closes its end must not keep the socket.
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  return true;
}
