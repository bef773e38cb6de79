import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { RawSocketControl } from "../actor/raw-handlers.js";
import { errors, toPublicError, TroupeError } from "../common/errors.js";
import type { ActorGateway, GatewayConnection } from "../runtime/gateway.js";
import { clientMessage, decode, encode, type ClientMessage, type Encoding } from "./protocol.js";

export interface WebSocketDeps {
  manager: () => Promise<ActorGateway>;
  logger: Logger;
  maxMessageBytes: number;
  accepting: () => boolean;
  /** A client that stops reading may not make the server buffer more than this. */
  maxBufferedBytes?: number;
}

export const SUBPROTOCOL = "troupe";
const PARAMS_PREFIX = "troupe.params.";
const ENCODING_PREFIX = "troupe.encoding.";
const PARAMS_HEADER = "x-troupe-conn-params";
const ENCODING_HEADER = "x-troupe-encoding";

/**
 * Handles `GET {basePath}/actors/{actorId}/connect` upgrades for a Node HTTP server.
 * Params travel in a header (or, for browsers, a subprotocol entry), never the URL,
 * so they stay out of access logs.
 */
export function createUpgradeHandler(deps: WebSocketDeps, basePath = "/") {
  const prefix = basePath.replace(/\/+$/, "");
  const pathRe = new RegExp(`^${escapeRe(prefix)}/actors/([A-Za-z0-9_-]{1,64})/connect$`);
  const rawRe = new RegExp(`^${escapeRe(prefix)}/actors/([A-Za-z0-9_-]{1,64})/websocket(/.*)?$`);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxMessageBytes,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const maxBuffered = deps.maxBufferedBytes ?? 8 * 1024 * 1024;

  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const raw = rawRe.exec(url.pathname);
    if (raw) {
      if (!deps.accepting()) rejectUpgrade(socket, 503, "server_stopping");
      else wss.handleUpgrade(req, socket, head, (ws) => void serveRawSocket(ws, raw[1]!, `${raw[2] ?? "/"}${url.search}`, req, deps));
      return true;
    }
    const match = pathRe.exec(url.pathname);
    if (!match) return false;
    if (!deps.accepting()) {
      rejectUpgrade(socket, 503, "server_stopping");
      return true;
    }
    let setup: { params: unknown; encoding: Encoding };
    try {
      setup = readConnSetup(req);
    } catch (err) {
      rejectUpgrade(socket, 400, toPublicError(err).code);
      return true;
    }
    wss.handleUpgrade(req, socket, head, (ws) => void serveConnection(ws, match[1]!, setup, deps, maxBuffered));
    return true;
  };
  return { handler, close: () => wss.close() };
}

async function serveConnection(ws: WebSocket, actorId: string, setup: { params: unknown; encoding: Encoding }, deps: WebSocketDeps, maxBuffered: number) {
  const { encoding } = setup;
  let closeReason = "client_closed";
  const send = (msg: { t: string; id?: number; [field: string]: unknown }): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > maxBuffered) {
      closeReason = "error";
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
  // Frames that arrive before the actor admitted the connection wait here, in order.
  let early: Array<[RawData, boolean]> | undefined = [];
  let conn: GatewayConnection | undefined;
  let closed = false;

  const failProtocol = (why: string): void => {
    closeReason = "error";
    ws.close(1007, `malformed_message: ${why}`.slice(0, 120));
  };
  const onMessage = (data: RawData, isBinary: boolean): void => {
    if (early) {
      early.push([data, isBinary]);
      return;
    }
    let msg: ClientMessage;
    try {
      const bytes = toBytes(data);
      const parsed = clientMessage.safeParse(decode(bytes, isBinary ? "cbor" : "json"));
      if (!parsed.success) return failProtocol(parsed.error.issues[0]?.message ?? "bad shape");
      msg = parsed.data;
    } catch {
      return failProtocol(encoding === "cbor" ? "invalid CBOR" : "invalid JSON");
    }
    if (msg.t === "sub") conn!.subscribe(msg.event);
    else if (msg.t === "unsub") conn!.unsubscribe(msg.event);
    else {
      const id = msg.id;
      conn!.call(msg.name, msg.args ?? []).then(
        (output) => send({ t: "reply", id, output }),
        (err) => {
          const pub = toPublicError(err);
          if (!(err instanceof TroupeError)) deps.logger.error({ err }, "unhandled error in WebSocket action");
          send({ t: "error", id, ...pub.toPayload() });
        },
      );
    }
  };
  ws.on("message", onMessage);
  ws.on("error", (err) => {
    closeReason = "error";
    deps.logger.debug({ err }, "WebSocket error");
  });
  ws.on("close", (code) => {
    closed = true;
    if (code === 1009) closeReason = "error";
    if (conn) void conn.closed(closeReason);
  });

  try {
    const gateway = await deps.manager();
    conn = await gateway.connect(actorId, setup.params, {
      sendEvent: (name, args) => send({ t: "event", name, args }),
      close: (code, reason) => ws.close(code, reason),
    });
  } catch (err) {
    const pub = toPublicError(err);
    if (!(err instanceof TroupeError)) deps.logger.error({ err }, "could not admit a connection");
    send({ t: "error", ...pub.toPayload() });
    const code = pub.code === "connection_refused" || pub.group === "user" ? 4403 : pub.status === 404 ? 4404 : 1011;
    ws.close(code, `${pub.code}: ${pub.message}`.slice(0, 120));
    return;
  }
  if (closed) {
    void conn.closed(closeReason);
    return;
  }
  send({ t: "init", actorId, connId: conn.id });
  const queued = early;
  early = undefined;
  for (const [data, isBinary] of queued) onMessage(data, isBinary);
}

/** A raw WebSocket for onWebSocket: bytes in, bytes out, no Troupe protocol. */
async function serveRawSocket(ws: WebSocket, actorId: string, path: string, req: IncomingMessage, deps: WebSocketDeps): Promise<void> {
  const early: Array<string | Uint8Array> = [];
  const control: RawSocketControl = {
    send: (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data);
    },
    close: (code, reason) => ws.close(code, reason.slice(0, 120)),
  };
  ws.on("message", (data, isBinary) => {
    const value = isBinary ? toBytes(data) : toBytes(data).toString();
    if (control.onMessage) control.onMessage(value);
    else early.push(value);
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
    await gateway.openRawSocket(actorId, control, { url: path, headers: req.headers });
    // Closed while onWebSocket ran: the actor registered a socket that is already gone.
    const late = closed.with as [number, string] | undefined;
    if (late) {
      control.onClose?.(...late);
      return;
    }
    for (const m of early.splice(0)) control.onMessage?.(m);
  } catch (err) {
    const pub = toPublicError(err);
    if (!(err instanceof TroupeError)) deps.logger.error({ err }, "could not open a raw WebSocket");
    ws.close(pub.status === 404 ? 4404 : 1011, `${pub.code}: ${pub.message}`.slice(0, 120));
  }
}

function readConnSetup(req: IncomingMessage): { params: unknown; encoding: Encoding } {
  let paramsText: string | undefined;
  let encodingName: string | undefined;
  const header = req.headers[PARAMS_HEADER];
  if (typeof header === "string") paramsText = header;
  const encHeader = req.headers[ENCODING_HEADER];
  if (typeof encHeader === "string") encodingName = encHeader;
  for (const p of (req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim())) {
    if (p.startsWith(PARAMS_PREFIX)) paramsText = Buffer.from(p.slice(PARAMS_PREFIX.length), "base64url").toString("utf8");
    else if (p.startsWith(ENCODING_PREFIX)) encodingName = p.slice(ENCODING_PREFIX.length);
  }
  if (encodingName !== undefined && encodingName !== "json" && encodingName !== "cbor") throw errors.invalidRequest("encoding must be json or cbor");
  let params: unknown;
  if (paramsText !== undefined) {
    try {
      params = JSON.parse(paramsText);
    } catch {
      throw errors.malformedBody("connection params are not valid JSON");
    }
  }
  return { params, encoding: (encodingName as Encoding | undefined) ?? "json" };
}

function rejectUpgrade(socket: Duplex, status: number, code: string): void {
  const body = JSON.stringify({ group: "request", code, message: code });
  socket.end(`HTTP/1.1 ${status} ${status === 503 ? "Service Unavailable" : "Bad Request"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
