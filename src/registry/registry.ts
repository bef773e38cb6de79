import path from "node:path";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { createActorType, type ActorType } from "../actor/actor-type.js";
import type { AnyActorDefinition } from "../actor/definition.js";
import { createLogger } from "../common/logger.js";
import { PROTOCOL_VERSION, VERSION } from "../common/version.js";
import { createHttpApp } from "../server/http-app.js";
import { listen, type ListenOptions, type TroupeServer } from "../server/listen.js";
import { createUpgradeHandler } from "../server/websocket.js";
import { GroupCommitter } from "../storage/group-commit.js";
import { MemoryStore } from "../storage/memory-store.js";
import { SqliteStore } from "../storage/sqlite-store.js";
import type { ActorStore } from "../storage/driver.js";
import { EmbeddedPlacement } from "../storage/embedded-placement.js";
import { ActorManager, type ManagerOptions } from "./actor-manager.js";
import { createRegistryMetrics, type MetricsConfig, type RegistryMetrics } from "./registry-metrics.js";
import { createRoutes, type HealthStatus, type MetadataConfig, type Routes } from "../routes/index.js";
import { createAuthLimiter } from "../routes/rate-limit.js";
import { requestAddress, type ClientAddressFn } from "../server/client-address.js";
import { resolveLimits, type LimitsConfig } from "../server/limits.js";
import { resolveCors, type CorsConfig } from "../server/origin.js";
import { createInspector, resolveInspectorAuth, type InspectorConfig } from "../inspector/inspector.js";

export interface StorageConfig {
  /** "sqlite" (default) keeps actors in `dataDir`; "memory" keeps them in this process only. */
  driver?: "sqlite" | "memory";
  /** Default: `TROUPE_DATA_DIR`, else `.troupe/` in the working directory. */
  dataDir?: string;
  /** "full" (default) fsyncs every group commit; "process" survives a killed process but not a power cut. */
  durability?: "full" | "process";
}

export interface RegistryConfig<A extends Record<string, AnyActorDefinition>> {
  use: A;
  storage?: StorageConfig | ActorStore;
  /** Where `handler()` expects to be mounted, e.g. "/troupe". Default "/". */
  basePath?: string;
  /** Largest accepted HTTP body or WebSocket message. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Largest action or queue result sent back, over HTTP or a connection (as RivetKit's). Default 1 MiB. */
  maxResponseBytes?: number;
  logger?: Logger;
  metrics?: MetricsConfig;
  /** The token-protected inspector API under `/inspector` (docs/INSPECTOR.md). */
  inspector?: InspectorConfig;
  /** Browser origins allowed to call actors and open WebSockets, besides same-origin pages (docs/PROTOCOL.md, "Browsers"). */
  cors?: CorsConfig;
  /** Caps and timeouts every client meets (docs/PROTOCOL.md, "Limits"). */
  limits?: LimitsConfig;
  /** What `/metadata` and `/health` show without the inspector token (docs/ROUTES.md). */
  metadata?: MetadataConfig;
  /** Names the client behind a request for the per-address limits, e.g. from your proxy's header (docs/PROTOCOL.md, "Limits"). */
  clientAddress?: ClientAddressFn;
  /** @internal Deterministic ids for the simulation harness. */
  managerOptions?: ManagerOptions;
}

type Phase = "idle" | "starting" | "ready" | "stopping" | "stopped";

/** The runtime for a set of actor types: serves them standalone, or mounted in another router. */
export class Registry<A extends Record<string, AnyActorDefinition> = Record<string, AnyActorDefinition>> {
  readonly logger: Logger;
  readonly basePath: string;
  readonly maxBodyBytes: number;
  readonly maxResponseBytes: number;
  readonly types: ReadonlyMap<string, ActorType>;
  /** Trusted, in-process access to the metrics: `registry.metrics.render()` needs no token. */
  readonly metrics: RegistryMetrics;
  /** Fetch handlers for /health, /metadata and /metrics, to mount in any router. */
  readonly routes: Routes;
  /** Serves the whole HTTP API (actors and the three routes) under `basePath`. */
  readonly handler: (request: Request) => Promise<Response>;

  private phase: Phase = "idle";
  private starting: Promise<ActorManager> | undefined;
  private manager: ActorManager | undefined;
  private store: ActorStore | undefined;
  private readonly upgrade: ReturnType<typeof createUpgradeHandler>;

  constructor(readonly config: RegistryConfig<A>) {
    this.logger = config.logger ?? createLogger();
    this.basePath = normalizeBasePath(config.basePath);
    this.maxBodyBytes = config.maxBodyBytes ?? 1024 * 1024;
    if (!Number.isInteger(this.maxBodyBytes) || this.maxBodyBytes < 1024) throw new TypeError("setup(): maxBodyBytes must be an integer of at least 1024");
    this.maxResponseBytes = config.maxResponseBytes ?? 1024 * 1024;
    if (!Number.isInteger(this.maxResponseBytes) || this.maxResponseBytes < 1024) throw new TypeError("setup(): maxResponseBytes must be an integer of at least 1024");
    if (!config.use || typeof config.use !== "object") throw new TypeError("setup(): `use` must map actor names to actor() definitions");
    this.metrics = createRegistryMetrics(config.metrics, { version: VERSION, mode: this.mode, logger: this.logger });
    const types = new Map<string, ActorType>();
    for (const [name, def] of Object.entries(config.use)) {
      const actions = def?.config?.actions ? Object.keys(def.config.actions) : [];
      const queues = Object.keys(def?.config?.queues ?? {});
      const raw = { onRequest: typeof def?.config?.onRequest === "function", onWebSocket: typeof def?.config?.onWebSocket === "function" };
      types.set(name, createActorType(name, def, this.metrics.forActorType(name, actions, queues, raw)));
    }
    this.types = types;

    const limits = resolveLimits(config.limits);
    const cors = resolveCors(config.cors);
    // One budget of wrong tokens per client address, shared by /metrics, /metadata and the inspector.
    const authLimiter = createAuthLimiter({ perMinute: limits.authFailuresPerMinute, address: (req) => requestAddress(req, config.clientAddress) });
    const inspectorAuth = resolveInspectorAuth(config.inspector, process.env);
    this.routes = createRoutes({
      version: VERSION,
      health: () => this.healthStatus(),
      metadata: () => ({
        mode: this.mode,
        protocolVersion: PROTOCOL_VERSION,
        actorNames: Object.fromEntries([...types.values()].map((t) => [t.name, { actions: [...t.actions.keys()] }])),
      }),
      renderMetrics: (format) => this.metrics.render(format),
      negotiateFormat: this.metrics.negotiateFormat,
      contentTypeFor: this.metrics.contentTypeFor,
      metricsAuth: this.metrics.auth,
      log: this.logger,
      metadataPublic: config.metadata?.public,
      inspectorAuth,
      authLimiter,
    });
    const inspector = createInspector(inspectorAuth, () => this.start(), authLimiter);
    const app = createHttpApp(
      {
        inspector,
        manager: () => this.start(),
        logger: this.logger,
        maxBodyBytes: this.maxBodyBytes,
        maxResponseBytes: this.maxResponseBytes,
        accepting: () => this.phase !== "stopping" && this.phase !== "stopped",
        routes: this.routes,
        cors,
      },
      this.basePath,
    );
    this.handler = async (request) => {
      this.startInBackground();
      return app.fetch(request);
    };
    this.upgrade = createUpgradeHandler(
      {
        manager: () => this.start(),
        logger: this.logger,
        maxMessageBytes: this.maxBodyBytes,
        maxResponseBytes: this.maxResponseBytes,
        accepting: () => this.phase !== "stopping" && this.phase !== "stopped",
        limits,
        cors,
        clientAddress: config.clientAddress,
      },
      this.basePath,
    );
  }

  /** "embedded" on the SQLite default, "memory" on the memory store, else the custom store's kind. */
  get mode(): string {
    const s = this.config.storage;
    if (s && "write" in s) return s.kind;
    return s?.driver === "memory" ? "memory" : "embedded";
  }

  /** Opens the store and readies the runtime; idempotent. The handler calls it on first use. */
  start(): Promise<ActorManager> {
    if (this.manager) return Promise.resolve(this.manager);
    if (this.phase === "stopping" || this.phase === "stopped") return Promise.reject(new Error("This registry was shut down"));
    this.starting ??= this.open().catch((err) => {
      this.phase = "idle";
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async open(): Promise<ActorManager> {
    this.phase = "starting";
    // A prom-client registry whose names clash with Troupe's fails startup, not a scrape.
    await this.metrics.ready;
    const store = this.createStore();
    await store.open();
    const committer = new GroupCommitter(store);
    const placement = new EmbeddedPlacement(store, committer, this.config.managerOptions?.newId);
    const manager = new ActorManager(this.types, { storage: store, placement, committer }, this.logger, this.config.managerOptions);
    try {
      // Ready only once alarms are armed and the queue backlog is restored: /health says so.
      await manager.startBackgroundWork();
    } catch (err) {
      // Nothing half-started stays behind: the next request or start() tries again from scratch.
      await manager.shutdown().catch(() => {});
      await store.close().catch(() => {});
      throw err;
    }
    this.store = store;
    this.manager = manager;
    this.phase = "ready";
    this.logger.info({ mode: this.mode, actors: [...this.types.keys()] }, "troupe registry ready");
    return manager;
  }

  private startInBackground(): void {
    if (this.phase === "idle") this.start().catch((err) => this.logger.error({ err }, "registry failed to start"));
  }

  private createStore(): ActorStore {
    const s = this.config.storage;
    if (s && "write" in s) return s;
    if (s?.driver === "memory") return new MemoryStore();
    const dataDir = s?.dataDir ?? process.env.TROUPE_DATA_DIR ?? path.resolve(".troupe");
    return new SqliteStore({ dataDir, durability: s?.durability ?? "full" });
  }

  private healthStatus(): HealthStatus {
    this.startInBackground();
    return this.phase === "ready" ? "ok" : this.phase === "stopping" || this.phase === "stopped" ? "stopping" : "starting";
  }

  /**
   * For a Node HTTP server you run yourself: call from its "upgrade" event. Returns false
   * when the path is not a Troupe connect path, so you can route it elsewhere.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    this.startInBackground();
    return this.upgrade.handler(req, socket, head);
  }

  /** Serves the registry standalone; resolves once listening. */
  listen(opts: ListenOptions = {}): Promise<TroupeServer> {
    return listen(this, opts);
  }

  /** Graceful: refuse new work, drain in-flight actions, commit, run onSleep, close the store. */
  async shutdown(): Promise<void> {
    if (this.phase === "stopped") return;
    if (this.phase === "starting") await this.starting?.catch(() => {});
    this.phase = "stopping";
    try {
      await this.manager?.shutdown();
      this.upgrade.close();
      await this.store?.close();
    } finally {
      this.metrics.stop();
      this.phase = "stopped";
    }
  }
}

export function setup<A extends Record<string, AnyActorDefinition>>(config: RegistryConfig<A>): Registry<A> {
  return new Registry(config);
}

function normalizeBasePath(p: string | undefined): string {
  if (!p || p === "/") return "/";
  if (!p.startsWith("/")) throw new TypeError(`setup(): basePath must start with "/" (got "${p}")`);
  return p.replace(/\/+$/, "");
}
