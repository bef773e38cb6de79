import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer, type HttpBindings } from "@hono/node-server";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { notePeerAddress } from "./client-address.js";
import { noteIncoming } from "./incoming-body.js";
import { resolveLimits, type LimitsConfig } from "./limits.js";
import { guardServer, serverOptions } from "./server-guards.js";

/** What serving needs from a registry: its handlers, its start and its shutdown. */
export interface Listenable {
  readonly logger: Logger;
  readonly basePath: string;
  readonly handler: (request: Request) => Promise<Response>;
  /** `setup({ limits })`: the timeouts and connection caps of the server listen() creates. */
  readonly config?: { limits?: LimitsConfig };
  start(): Promise<unknown>;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  shutdown(): Promise<void>;
}

export interface ListenOptions {
  /** Default 6420; 0 picks a free port. */
  port?: number;
  /** Default "127.0.0.1"; use "0.0.0.0" to accept outside connections. */
  host?: string;
  /** Shut down gracefully on SIGINT and SIGTERM. Default true. */
  handleSignals?: boolean;
}

export interface TroupeServer {
  readonly port: number;
  readonly host: string;
  /** Base URL for clients, e.g. http://127.0.0.1:6420 (plus the basePath). */
  readonly url: string;
  readonly httpServer: Server;
  /** Graceful shutdown: stop accepting, drain in-flight actions, commit, run onSleep, close the store. */
  close(): Promise<void>;
}

/** Serves a registry on a Node HTTP server with WebSocket upgrades. */
export async function listen(registry: Listenable, opts: ListenOptions): Promise<TroupeServer> {
  const host = opts.host ?? "127.0.0.1";
  await registry.start();
  const limits = resolveLimits(registry.config?.limits);
  const server = createAdaptorServer({
    // The routes are Fetch handlers and never see the socket: note who sent each request.
    fetch: (request, env) => {
      const incoming = (env as Partial<HttpBindings>).incoming;
      notePeerAddress(request, incoming?.socket?.remoteAddress);
      noteIncoming(request, incoming);
      return registry.handler(request);
    },
    hostname: host,
    serverOptions: serverOptions(limits),
  }) as Server;
  guardServer(server, limits);
  server.on("upgrade", (req, socket, head) => {
    // Destroyed once written: a peer that never closes its end must not keep the socket.
    if (!registry.handleUpgrade(req, socket, head)) socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 6420, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    registry.logger.info({ signal }, "shutting down");
    void close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await registry.shutdown();
      server.closeAllConnections();
      await serverClosed;
    })());
  if (opts.handleSignals !== false) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  const base = registry.basePath === "/" ? "" : registry.basePath;
  registry.logger.info({ url: `http://${host}:${port}${base}` }, "troupe listening");
  return { port, host, url: `http://${formatHost(host)}:${port}${base}`, httpServer: server, close };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
