import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import { errors, toPublicError, TroupeError } from "../common/errors.js";
import type { ActorGateway, GatewayConnection } from "../runtime/gateway.js";
import { AddressTally } from "./address-tally.js";
import { upgradeAddress, type ClientAddressFn } from "./client-address.js";
import { Heartbeat } from "./heartbeat.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { originAllowed, type CorsPolicy } from "./origin.js";
import { clientMessage, decode, encode, type ClientMessage, type Encoding } from "./protocol.js";
import { serveRawSocket } from "./raw-socket.js";
import { paramsText, parseParams } from "./conn-params.js";
import { rivetCloseReason } from "./rivet/rivet-errors.js";
import { RIVET_SUBPROTOCOL } from "./rivet/ws-protocols.js";
import { readRivetUpgrade, rivetUpgradePath, serveRivetUpgrade } from "./rivet/ws-upgrade.js";
import { closeWith, troupeCloseReason, type Refuse } from "./ws-caps.js";
import { ConnSession } from "./conn-session.js";

export interface WebSocketDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
  maxMessageBytes: number;
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

export const SUBPROTOCOL = "troupe";
const PARAMS_PREFIX = "troupe.params.";
const ENCODING_PREFIX = "troupe.encoding.";
const ENCODING_HEADER = "x-troupe-encoding";

/** Where an upgraded socket stands until it is admitted: the upgrade deadline acts on it. */
interface Admission {
  ws?: WebSocket;
  done: boolean;
}

/**
 * Handles `GET {basePath}/actors/{actorId}/connect` (and `/websocket`) upgrades for a Node HTTP
 * server, and RivetKit's `/gateway/.../connect|websocket` ones (src/server/rivet/ws-upgrade.ts)
 * under the same admission rules.
 * Params travel in a header (or, for browsers, a subprotocol entry), never the URL,
 * so they stay out of access logs.
 */
export function createUpgradeHandler(deps: WebSocketDeps, basePath = "/") {
  const prefix = basePath.replace(/\/+$/, "");
  const pathRe = new RegExp(`^${escapeRe(prefix)}/actors/([A-Za-z0-9_-]{1,64})/connect$`);
  const rawRe = new RegExp(`^${escapeRe(prefix)}/actors/([A-Za-z0-9_-]{1,64})/websocket(/.*)?$`);
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxMessageBytes,
    // The answer must name a protocol the client offered: Troupe's, or RivetKit's `rivet`.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : protocols.has(RIVET_SUBPROTOCOL) ? RIVET_SUBPROTOCOL : false),
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
    const raw = rawRe.exec(url.pathname);
    const match = raw ? null : pathRe.exec(url.pathname);
    const rivetPath = raw || match ? undefined : rivetUpgradePath(url.pathname, prefix);
    if (!raw && !match && rivetPath === undefined) return false;
    // RivetKit words its close reasons `group.code#…` (the client parses them).
    const reason = rivetPath === undefined ? troupeCloseReason : rivetCloseReason;

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
    // Raw sockets carry params too: onBeforeConnect sees them before onWebSocket runs.
    let setup: { params: unknown; encoding: Encoding } = { params: undefined, encoding: "json" };
    // A bad RivetKit address or subprotocol is closed after the upgrade, with a reason the client reads.
    const rivet = rivetPath === undefined ? undefined : readRivetUpgrade(rivetPath, url, req);
    try {
      if (!rivet) setup = readConnSetup(req);
    } catch (err) {
      return rejectUpgrade(socket, toPublicError(err));
    }
    const address = upgradeAddress(req, deps.clientAddress);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const refusal = tally.admit(address);
      if (refusal) {
        admitted();
        closeWith(ws, refusal.code === "server_at_capacity" ? 1013 : 1008, refusal, reason);
        return;
      }
      ws.once("close", () => tally.release(address));
      heartbeat.watch(ws);
      admission.ws = ws;
      const register = (r: Refuse) => refusers.set(ws, r);
      if (rivet) serveRivetUpgrade(ws, rivet, req, { deps, limits, maxBuffered, admitted, register });
      else if (raw) void serveRawSocket(ws, raw[1]!, `${raw[2] ?? "/"}${url.search}`, req, setup.params, deps, limits, admitted, register);
      else void serveConnection(ws, match![1]!, setup, deps, limits, maxBuffered, admitted, register);
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

async function serveConnection(
  ws: WebSocket,
  actorId: string,
  setup: { params: unknown; encoding: Encoding },
  deps: WebSocketDeps,
  limits: Limits,
  maxBuffered: number,
  admitted: () => void,
  register: (refuse: Refuse) => void,
) {
  const { encoding } = setup;
  const send = (msg: { t: string; id?: number; [field: string]: unknown }): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > maxBuffered) {
      session.closeReason = "error";
      ws.close(1008, "backpressure: client is not reading");
      return;
    }
    let frame: string | Uint8Array;
    try {
      frame = encode(msg, encoding);
    } catch (err) {
      // An output the encoding cannot carry (a cycle, a BigInt in JSON) must not throw here.
      deps.logger.error({ err, t: msg.t }, "could not encode a message for a connection");
      if (msg.t !== "reply") return;
      frame = encode({ t: "error", id: msg.id, ...errors.internal().toPayload() }, encoding);
    }
    ws.send(frame);
  };
  const failProtocol = (why: string): void => {
    session.closeReason = "error";
    ws.close(1007, `malformed_message: ${why}`.slice(0, 120));
  };
  const onFrame = (bytes: Buffer, isBinary: boolean): void => {
    let msg: ClientMessage;
    try {
      const parsed = clientMessage.safeParse(decode(bytes, isBinary ? "cbor" : "json"));
      if (!parsed.success) return failProtocol(parsed.error.issues[0]?.message ?? "bad shape");
      msg = parsed.data;
    } catch {
      return failProtocol(encoding === "cbor" ? "invalid CBOR" : "invalid JSON");
    }
    if (msg.t === "sub") session.subscribe(msg.event);
    else if (msg.t === "unsub") session.unsubscribe(msg.event);
    else {
      const id = msg.id;
      session.call(
        bytes.byteLength,
        msg.name,
        msg.args ?? [],
        (output) => send({ t: "reply", id, output }),
        (err) => {
          const pub = toPublicError(err);
          if (!(err instanceof TroupeError)) deps.logger.error({ err }, "unhandled error in WebSocket action");
          send({ t: "error", id, ...pub.toPayload() });
        },
      );
    }
  };
  const session = new ConnSession(ws, limits, deps.logger, onFrame);
  register(session.refuse);

  let conn: GatewayConnection;
  try {
    const gateway = await deps.manager();
    conn = await gateway.connect(actorId, setup.params, {
      sendEvent: (name, args) => send({ t: "event", name, args }),
      close: (code, reason) => ws.close(code, reason),
    });
  } catch (err) {
    admitted();
    const pub = toPublicError(err);
    if (!(err instanceof TroupeError)) deps.logger.error({ err }, "could not admit a connection");
    send({ t: "error", ...pub.toPayload() });
    const code = pub.code === "connection_refused" || pub.group === "user" ? 4403 : pub.status === 404 ? 4404 : 1011;
    ws.close(code, `${pub.code}: ${pub.message}`.slice(0, 120));
    return;
  }
  session.admitted(conn, () => {
    admitted();
    send({ t: "init", actorId, connId: conn.id });
  });
}

function readConnSetup(req: IncomingMessage): { params: unknown; encoding: Encoding } {
  let text = paramsText(req.headers);
  let encodingName: string | undefined;
  const encHeader = req.headers[ENCODING_HEADER];
  if (typeof encHeader === "string") encodingName = encHeader;
  for (const p of (req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim())) {
    if (p.startsWith(PARAMS_PREFIX)) text = Buffer.from(p.slice(PARAMS_PREFIX.length), "base64url").toString("utf8");
    else if (p.startsWith(ENCODING_PREFIX)) encodingName = p.slice(ENCODING_PREFIX.length);
  }
  if (encodingName !== undefined && encodingName !== "json" && encodingName !== "cbor") throw errors.invalidRequest("encoding must be json or cbor");
  return { params: parseParams(text), encoding: (encodingName as Encoding | undefined) ?? "json" };
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

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
