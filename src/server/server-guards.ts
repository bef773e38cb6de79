import { STATUS_CODES, type Server } from "node:http";
import type { Socket } from "node:net";
import { errors, type TroupeError } from "../common/errors.js";
import { AddressTally } from "./address-tally.js";
import { addressKey } from "./client-address.js";
import type { Limits } from "./limits.js";

/**
 * The options `listen()` gives Node's HTTP server. Node enforces the header and request
 * timeouts from a periodic sweep, so the sweep runs often enough for the shortest of them.
 */
export function serverOptions(limits: Limits) {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * Slow and greedy clients on `listen()`'s server: timeouts are answered 408 `request_timed_out`
 * (Node's own answers stay for the other client errors), and TCP connections past
 * `maxConnections` (503 `server_at_capacity`) or `maxConnectionsPerAddress` (429
 * `too_many_connections`) are answered and closed before any request is read.
 */
export function guardServer(server: Server, limits: Limits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;

  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // Node's own test: answer only when no response of this socket has begun (keep-alive reuses it).
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") socket.write(httpError(errors.requestTimedOut()));
      else if (err.code === "HPE_HEADER_OVERFLOW") socket.write("HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\r\n");
      else if (err.code !== "ECONNRESET") socket.write("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    }
    socket.destroy();
  });

  const tally = new AddressTally(limits.maxConnections, limits.maxConnectionsPerAddress);
  server.on("connection", (socket: Socket) => {
    const address = addressKey(socket.remoteAddress);
    const refusal = tally.admit(address);
    if (refusal) {
      socket.once("error", () => {});
      socket.end(httpError(refusal), () => socket.destroy());
      return;
    }
    socket.once("close", () => tally.release(address));
  });
}

function httpError(err: TroupeError): string {
  const body = JSON.stringify(err.toPayload());
  return `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
