import Database from "better-sqlite3";
import type { Scheduler } from "fast-check";
import FakeTimers from "@sinonjs/fake-timers";

type InstalledClock = ReturnType<ReturnType<typeof FakeTimers.withGlobal>["install"]>;
import { pino } from "pino";
import { setup, type Registry } from "../../src/index.js";
import type { ActorInstance } from "../../src/actor/instance.js";
import type { GatewayConnection } from "../../src/runtime/gateway.js";
import type { RawSocketControl } from "../../src/actor/raw-handlers.js";
import { encodeKey } from "../../src/actor/kv.js";
import { serializeActorKey } from "../../src/client/protocol/keys.js";
import { cbor } from "../../src/actor/state-codec.js";
import type { ActorManager } from "../../src/registry/actor-manager.js";
import { MemoryStore } from "../../src/storage/memory-store.js";
import { FaultyStore, LATE_MAX_MS, prng, type FaultRates } from "./faulty-store.js";
import { ALARM, EVENT, KV, SQL, simActors, TIMEOUT_MS, type Mode, type Probe } from "./sim-actors.js";

/** One step of a schedule; the seed picks the list. */
export type Cmd =
  | { t: "write"; a: number; kinds: number; mode: Mode }
  | { t: "send"; a: number; wait: boolean; hang: boolean; sql: boolean }
  | { t: "inbox"; a: number }
  | { t: "take"; a: number; timeoutMs: number }
  | { t: "connect"; a: number; bad: boolean }
  | { t: "disconnect"; i: number }
  | { t: "raw"; a: number }
  | { t: "rawSocket"; a: number; closeEarly: boolean }
  | { t: "sleep"; a: number }
  | { t: "destroy"; a: number }
  | { t: "relay"; a: number; b: number }
  | { t: "ping"; a: number; b: number }
  | { t: "unarm"; a: number; pick: number; fail: boolean }
  | { t: "restart" }
  | { t: "crash" }
  | { t: "tick"; ms: number }
  | { t: "release"; n: number };

/** Actor slots: acct a0..a2, and the reentrant room r0. */
export const SLOTS = [
  { type: "acct", key: "a0" },
  { type: "acct", key: "a1" },
  { type: "acct", key: "a2" },
  { type: "room", key: "r0" },
] as const;

export class Violation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Violation";
  }
}

type Outcome = "ok" | "fail" | "unknown";

interface Call {
  n: number;
  what: string;
  world: number;
  start: number;
  end?: number;
  outcome?: Outcome;
  code?: string;
  bound: number;
}

interface WriteRecord {
  op: number;
  actorId: string;
  type: string;
  kinds: number;
  outcome?: Outcome;
}

interface Live {
  epoch: number;
  registry: Registry<any>;
  store: FaultyStore;
  manager: ActorManager;
  instances: ActorInstance[];
  tokens: Map<number, { actorId: string; instance?: ActorInstance }>;
  slept: Set<number>;
  woke: Set<number>;
  handlerRuns: Map<number, number>;
  conns: Array<{ actorId: string; conn?: GatewayConnection; closed: boolean }>;
  sockets: Array<{ control: RawSocketControl; closed: boolean }>;
}

const quiet = pino({ level: "silent" });
const LIMIT_STEPS = 4000;

/**
 * A simulated world: the real registry, manager, instances, group commit, scheduler, queues,
 * KV and SQL in this process, on a fake clock, over a store that fails, delays and dies as
 * the seed says. It records what every caller was told and checks the invariants against it.
 */
export class World {
  readonly disk = new MemoryStore();
  private clock!: InstalledClock;
  private live!: Live;
  private epoch = 0;
  private nextOp = 1;
  private nextMsg = 1;
  private nextCall = 1;
  private nextToken = 1;
  private nextId = 1;
  private readonly calls: Call[] = [];
  private readonly writes = new Map<number, WriteRecord>();
  private readonly sends = new Map<number, { actorId: string; queue: string; hang: boolean; outcome?: Outcome }>();
  /** Cancellations of acknowledged alarms, by the write that set them. */
  private readonly unarms = new Map<number, { outcome?: Outcome; cancelled?: boolean }>();
  /** Actors a destroy may have reached: their data is no longer owed. */
  private readonly gone = new Set<string>();
  /** The actor ids a resolve or a by-key call handed out (each was durable then), by key, and each id's key. */
  private readonly handedOut = new Map<string, Set<string>>();
  private readonly keyOf = new Map<string, string>();
  /** Calls of the current process still waiting for an answer. */
  private readonly outstanding = new Set<Call>();
  private readonly random: () => number;
  private readonly allStores: FaultyStore[] = [];
  /** Anything that intervened: a crash, a refused commit, a timeout. Exactly-once needs none. */
  private disturbed = false;
  readonly log: string[] = [];
  stepCount = 0;

  constructor(
    private readonly s: Scheduler,
    private readonly rates: FaultRates,
    faultSeed: number,
    /** Every other write names its actor by key in its own request (see `issue`). */
    private readonly byKeyWrites: boolean,
  ) {
    this.random = prng(faultSeed);
  }

  async start(): Promise<void> {
    this.clock = FakeTimers.withGlobal(globalThis).install({
      now: 1_700_000_000_000,
      toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "Date", "performance"],
    });
    await this.boot();
  }

  /**
   * Always call: restores the real timers. A schedule that failed never shut its registry down:
   * its store goes dead too, so nothing it left running completes in a later schedule.
   */
  stop(): void {
    this.live?.store.kill();
    this.clock?.uninstall();
  }

  private async boot(faultFree = false): Promise<void> {
    const epoch = ++this.epoch;
    const store = new FaultyStore(this.disk, this.s, faultFree ? { fail: 0, late: 0, sqlFull: 0 } : this.rates, this.random);
    const tokens = new Map<number, { actorId: string; instance?: ActorInstance }>();
    const slept = new Set<number>();
    const woke = new Set<number>();
    const instances: ActorInstance[] = [];
    const handlerRuns = new Map<number, number>();
    const probe: Probe = {
      born: (actorId) => {
        const token = this.nextToken++;
        // createVars runs right after the instance is built: the newest one of this id is it.
        tokens.set(token, { actorId, instance: instances.findLast((i) => i.id === actorId) });
        return token;
      },
      slept: (_id, token) => void slept.add(token),
      woke: (_id, token) => void woke.add(token),
      handlerRan: (_id, msg) => void handlerRuns.set(msg, (handlerRuns.get(msg) ?? 0) + 1),
      calledBack: (sameActor, code) => {
        // A→B→A must fail at once with call_cycle, whatever else is going on; not wait for a timeout.
        // ("ok" or a timeout means the call entered the caller's inbox; a refusal before it, such as a shutdown's, is fair.)
        if (sameActor && ["ok", "action_timed_out", "actor_restarted"].includes(code)) this.violation ??= new Violation(`a c.client() call back into a waiting caller ended with "${code}", not call_cycle`);
      },
    };
    const registry = setup({
      use: simActors(probe),
      storage: store,
      logger: quiet,
      metrics: { auth: "none" } as never,
      managerOptions: { newId: () => `id${this.nextId++}`, onInstance: (inst) => void instances.push(inst) },
    });
    const started = registry.start();
    const manager = await this.settle(started);
    this.allStores.push(store);
    this.live = { epoch, registry, store, manager, instances, tokens, slept, woke, handlerRuns, conns: [], sockets: [] };
  }

  /** Runs the world until `p` settles (releasing scheduled work and moving the clock). */
  private async settle<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const watched = p.finally(() => (done = true));
    watched.catch(() => {});
    for (let i = 0; i < LIMIT_STEPS && !done; i++) {
      if (this.s.count() > 0) await this.s.waitNext(1);
      else await this.clock.tickAsync(5);
    }
    if (!done) throw new Violation("the world did not settle a boot or shutdown step");
    return p;
  }

  // ---- the workload ------------------------------------------------------------------

  async step(cmd: Cmd): Promise<void> {
    this.stepCount++;
    this.log.push(JSON.stringify(cmd));
    switch (cmd.t) {
      case "tick":
        await this.s.waitIdle();
        await this.clock.tickAsync(cmd.ms);
        break;
      case "release":
        if (this.s.count() > 0) await this.s.waitNext(Math.min(cmd.n, this.s.count()));
        break;
      case "crash":
        await this.crash();
        break;
      case "restart":
        this.restarts++;
        for (const c of this.live.conns) c.closed = true;
        await this.shutdown();
        // Calls that raced the shutdown get their (refusing) answers from the stopped registry.
        await this.runUntil(() => this.outstanding.size === 0);
        this.failOutstanding();
        this.stopping = false;
        await this.boot();
        break;
      default:
        this.issue(cmd);
    }
    for (let i = 0; i < 3; i++) await this.clock.tickAsync(0);
    this.checkStep();
  }

  private issue(cmd: Cmd): void {
    const w = this.live;
    const slot = "a" in cmd ? SLOTS[cmd.a % SLOTS.length]! : SLOTS[0];
    switch (cmd.t) {
      case "write": {
        const op = this.nextOp++;
        const kinds = slot.type === "room" ? KV | EVENT : cmd.kinds;
        // Every other write names its actor by key in the same request (getOrCreate): a new
        // actor then takes the call before its creation is durable, and the reply waits for both.
        const byKey = this.byKeyWrites && op % 2 === 1;
        this.track(`write ${op} ${slot.key} k${kinds} ${cmd.mode}${byKey ? " by key" : ""}`, async (call) => {
          if (byKey) {
            const rec: WriteRecord = { op, actorId: "", type: slot.type, kinds };
            this.writes.set(op, rec);
            const removed = this.removedOf(slot.key);
            const r = await this.http("POST", `/gateway/${slot.type}/action/writeByKey?rvt-method=getOrCreate&rvt-key=${encodeURIComponent(slot.key)}`, { args: [op, kinds, cmd.mode] });
            if (r.ok) this.handOut(slot.key, (r.body as { output: [string, number] }).output[0], removed);
            // A failed call does not say which actor it reached: the key's holder now, if any (a
            // newer holder never has this op, so the check stays sound).
            rec.actorId = r.ok ? ((r.body as { output: [string, number] }).output[0]) : ((await this.disk.findByKey(slot.type, [slot.key]))?.id ?? "");
            rec.outcome = this.outcomeOf(call, r);
            if (r.ok) this.mustBeDurable(rec.actorId, slot.type, op, kinds, "reply");
            return;
          }
          const id = await this.resolve(slot);
          const rec: WriteRecord = { op, actorId: id, type: slot.type, kinds };
          this.writes.set(op, rec);
          const r = await this.action(id, "write", [op, kinds, cmd.mode]);
          rec.outcome = this.outcomeOf(call, r);
          if (r.ok) this.mustBeDurable(id, slot.type, op, kinds, "reply");
        });
        break;
      }
      case "send":
      case "inbox": {
        const msg = this.nextMsg++;
        const queue = cmd.t === "send" ? "jobs" : "inbox";
        const wait = cmd.t === "send" && cmd.wait;
        if (slot.type !== "acct") return;
        this.track(`send ${msg} ${slot.key} ${queue}${wait ? " wait" : ""}`, async (call) => {
          const id = await this.resolve(slot);
          const rec = { actorId: id, queue, hang: cmd.t === "send" && cmd.hang };
          this.sends.set(msg, rec);
          const body = { body: { id: msg, hang: cmd.t === "send" && cmd.hang, sql: cmd.t === "send" && cmd.sql }, name: queue, wait, timeout: 5_000 };
          const r = this.queueAnswer(await this.http("POST", `/gateway/${id}/queue/${queue}`, body), wait, msg);
          // A wait that timed out still means the message is stored.
          const stored = r.ok || r.code === "queue_wait_timed_out" || r.code === "queue_wait_interrupted" || r.code === "queue_message_dead";
          (rec as { outcome?: Outcome }).outcome = stored ? "ok" : this.outcomeOf(call, r);
          if (!r.ok) this.outcomeOf(call, r);
          else call.outcome = "ok";
        });
        break;
      }
      case "take":
        if (slot.type !== "acct") return;
        this.track(`take ${slot.key}`, async (call) => {
          const id = await this.resolve(slot);
          this.outcomeOf(call, await this.action(id, "take", [cmd.timeoutMs]));
        });
        break;
      case "connect": {
        if (slot.type !== "acct") return;
        const entry: Live["conns"][number] = { actorId: "", closed: false };
        w.conns.push(entry);
        this.track(`connect ${slot.key}${cmd.bad ? " bad" : ""}`, async (call) => {
          const id = await this.resolve(slot);
          entry.actorId = id;
          // Through the gateway, the one door the WebSocket server uses too.
          const gateway = await w.registry.start();
          const conn = await gateway.connect(id, cmd.bad ? { bad: true } : {}, {
            sendEvent: (name, args) => {
              if (name === "op" && w.epoch === this.live.epoch) {
                const op = args[0] as number;
                const rec = this.writes.get(op);
                // The connection's actor sent it (a write by key learns its actor only from the reply).
                if (rec) this.mustBeDurable(id, rec.type, op, rec.kinds, "event");
              }
            },
            close: () => void (entry.closed = true),
          });
          conn.subscribe("op");
          entry.conn = conn;
          call.outcome = "ok";
        });
        break;
      }
      case "disconnect": {
        const entry = w.conns.filter((c) => c.conn && !c.closed)[cmd.i % Math.max(1, w.conns.length)];
        if (!entry?.conn) return;
        entry.closed = true;
        void entry.conn.closed("client_closed");
        break;
      }
      case "raw":
        if (slot.type !== "acct") return;
        this.track(`raw ${slot.key}`, async (call) => {
          const id = await this.resolve(slot);
          const res = await w.registry.handler(new Request(`http://sim/gateway/${id}/request/x`));
          await res.text();
          call.outcome = res.ok ? "ok" : "fail";
        });
        break;
      case "rawSocket": {
        if (slot.type !== "acct") return;
        // Like the server's transport: closing the socket fires its close event soon after.
        const control: RawSocketControl = {
          send: () => {},
          close: (code, reason) => {
            entry.closed = true;
            queueMicrotask(() => control.onClose?.(code, reason));
          },
        };
        const entry = { control, closed: false };
        w.sockets.push(entry);
        this.track(`rawSocket ${slot.key}`, async (call) => {
          const id = await this.resolve(slot);
          const gateway = await w.registry.start();
          if (cmd.closeEarly) {
            // The client went away before the socket was handed over.
            entry.closed = true;
            return;
          }
          await gateway.openRawSocket(id, control, { url: "/", headers: {} });
          // As the WebSocket server does: a socket that closed while it was being opened is closed now.
          if (entry.closed) control.onClose?.(1000, "");
          call.outcome = "ok";
        });
        break;
      }
      case "sleep":
        this.track(`sleep ${slot.key}`, async (call) => {
          if (slot.type !== "acct") return;
          this.outcomeOf(call, await this.action(await this.resolve(slot), "sleepNow", []));
        });
        break;
      case "destroy":
        if (slot.type !== "acct") return;
        this.track(`destroy ${slot.key}`, async (call) => {
          const id = await this.resolve(slot);
          this.gone.add(id);
          this.outcomeOf(call, await this.action(id, "destroyMe", []));
        });
        break;
      case "relay": {
        const to = SLOTS[cmd.b % 3]!;
        if (slot.type !== "acct") return;
        const op = this.nextOp++;
        this.track(`relay ${op} ${slot.key}->${to.key}`, async (call) => {
          const id = await this.resolve(slot);
          const target = await this.resolve(to);
          const rec: WriteRecord = { op, actorId: target, type: "acct", kinds: KV };
          this.writes.set(op, rec);
          const removed = this.removedOf(to.key);
          const r = await this.action(id, "relay", [to.key, op]);
          // The actor the relay's own getOrCreate reached.
          if (r.ok) this.handOut(to.key, (rec.actorId = (r.body as { output: [string, number] }).output[0]), removed);
          // The inner write may have committed even if the outer call failed afterwards.
          rec.outcome = r.ok ? "ok" : "unknown";
          this.outcomeOf(call, r);
        });
        break;
      }
      case "unarm": {
        if (slot.type !== "acct") return;
        const candidates = [...this.writes.values()].filter((wr) => wr.type === "acct" && wr.kinds & ALARM && wr.outcome === "ok" && !this.unarms.has(wr.op));
        const target = candidates[cmd.pick % Math.max(1, candidates.length)];
        if (!target) return;
        const rec: { outcome?: Outcome; cancelled?: boolean } = {};
        this.unarms.set(target.op, rec);
        this.track(`unarm ${target.op}${cmd.fail ? " throw" : ""}`, async (call) => {
          const r = await this.action(target.actorId, "unarm", [target.op, cmd.fail ? "throw" : "ok"]);
          rec.outcome = this.outcomeOf(call, r);
          if (r.ok) rec.cancelled = (r.body as { output: boolean }).output;
        });
        break;
      }
      case "ping": {
        const to = SLOTS[cmd.b % 3]!;
        if (slot.type !== "acct" || to.key === slot.key) return;
        this.track(`ping ${slot.key}->${to.key}`, async (call) => {
          const id = await this.resolve(slot);
          const r = await this.action(id, "ping", [to.key]);
          this.outcomeOf(call, r);
          // A→B→A must fail at once with call_cycle, not wait for a timeout.
          void id;
        });
        break;
      }
    }
  }

  private async resolve(slot: (typeof SLOTS)[number]): Promise<string> {
    const removed = this.removedOf(slot.key);
    const r = await this.http("PUT", "/actors", { name: slot.type, key: serializeActorKey([slot.key]) });
    if (!r.ok && r.code === "not_found") {
      // Only a holder destroyed while the call ran can make a getOrCreate find nothing.
      const during = [...this.removedOf(slot.key)].some((id) => !removed.has(id));
      if (!during) this.violation ??= new Violation(`getOrCreate of ${slot.key} answered not_found, and no actor of that key was removed while it ran`);
    }
    if (!r.ok) throw Object.assign(new Error(`resolve failed: ${r.code}`), { code: r.code });
    const id = (r.body as { actor: { actor_id: string } }).actor.actor_id;
    this.handOut(slot.key, id, removed);
    if (process.env.TROUPE_SIM_TRACE === "1") process.stderr.write(`    ${slot.key} -> ${id} at ${Date.now() % 100000}\n`);
    return id;
  }

  /** The key's ids handed out before and no longer in the directory: destroyed (or discarded) durably. */
  private removedOf(key: string): Set<string> {
    const records = (this.disk as unknown as { records: Map<string, unknown> }).records;
    return new Set([...(this.handedOut.get(key) ?? [])].filter((id) => !records.has(id)));
  }

  /** A getOrCreate must answer with an actor of its key, and never one durably gone before it began. */
  private handOut(key: string, id: string, removedBefore: Set<string>): void {
    if (removedBefore.has(id)) this.violation ??= new Violation(`getOrCreate of ${key} answered ${id}, an actor removed from the directory before the call began`);
    const held = this.keyOf.get(id);
    if (held !== undefined && held !== key) this.violation ??= new Violation(`getOrCreate of ${key} answered ${id}, the actor of key ${held}`);
    this.keyOf.set(id, key);
    let ids = this.handedOut.get(key);
    if (!ids) this.handedOut.set(key, (ids = new Set()));
    ids.add(id);
  }

  private action(id: string, name: string, args: unknown[]) {
    return this.http("POST", `/gateway/${id}/action/${name}`, { args });
  }

  /**
   * A queue send's answer, `{status, response?, messageId}`, as the caller accounts for it: a wait
   * that ran out (status timedOut) is the failed call queue_wait_timed_out, whose message is stored.
   */
  private queueAnswer(r: { ok: boolean; code?: string; body: unknown }, wait: boolean, msg: number): { ok: boolean; code?: string; body: unknown } {
    if (!r.ok) return r;
    const answer = r.body as { status?: unknown; messageId?: unknown };
    if (typeof answer.messageId !== "number") this.violation ??= new Violation(`send ${msg} was answered without a messageId: ${JSON.stringify(answer)}`);
    if (answer.status === "completed") return r;
    if (answer.status === "timedOut" && wait) return { ok: false, code: "queue_wait_timed_out", body: r.body };
    this.violation ??= new Violation(`send ${msg}${wait ? " (wait)" : ""} was answered status ${JSON.stringify(answer.status)}`);
    return { ok: false, code: "bad_answer", body: r.body };
  }

  private async http(method: string, path: string, body?: unknown): Promise<{ ok: boolean; code?: string; body: unknown }> {
    const res = await this.live.registry.handler(
      new Request(`http://sim${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const json = (await res.json()) as { code?: string };
    return { ok: res.ok, code: res.ok ? undefined : json.code, body: json };
  }

  /** Records a call; failures of the harness itself surface as violations. */
  private track(what: string, run: (call: Call) => Promise<void>): void {
    const trace = process.env.TROUPE_SIM_TRACE === "1" ? (m: string) => process.stderr.write(`    ${m}\n`) : undefined;
    const inner = run;
    run = async (call) => {
      trace?.(`start ${what} at ${Date.now() % 100000}`);
      try {
        await inner(call);
      } finally {
        trace?.(`end ${what} at ${Date.now() % 100000}: ${call.outcome ?? "?"} ${call.code ?? ""}`);
      }
    };
    const inflight = [...this.calls].filter((c) => c.end === undefined && c.world === this.live.epoch).length;
    const call: Call = { n: this.nextCall++, what, world: this.live.epoch, start: Date.now(), bound: (inflight + 4) * 2 * (TIMEOUT_MS + LATE_MAX_MS) };
    this.calls.push(call);
    const p = run(call).then(
      () => {
        call.end = Date.now();
        call.outcome ??= "ok";
      },
      (err) => {
        if (err instanceof Violation) {
          this.violation ??= err;
          return;
        }
        call.end = Date.now();
        call.outcome = "fail";
        call.code = (err as { code?: string }).code ?? String(err);
      },
    );
    this.outstanding.add(call);
    void p.finally(() => this.outstanding.delete(call));
  }

  private violation: Violation | undefined;

  private outcomeOf(call: Call, r: { ok: boolean; code?: string }): Outcome {
    call.code = r.code;
    // Only a server that is shutting down may say so; an actor going to sleep must not.
    if (r.code === "server_stopping" && !this.stopping) this.violation ??= new Violation(`"${call.what}" was refused with server_stopping while the server was running`);
    if (r.code === "action_timed_out" || r.code === "state_commit_failed" || r.code === "actor_restarted") this.disturbed = true;
    call.outcome = r.ok ? "ok" : "fail";
    return call.outcome;
  }

  // ---- crash -------------------------------------------------------------------------

  /** Whatever had no answer yet when its process went away: the caller knows nothing. */
  private unknownPending(): void {
    for (const wr of this.writes.values()) if (wr.outcome === undefined) wr.outcome = "unknown";
    for (const m of this.sends.values()) if (m.outcome === undefined) m.outcome = "unknown";
    for (const u of this.unarms.values()) if (u.outcome === undefined) u.outcome = "unknown";
  }

  /** After a graceful stop every call must have its answer already. */
  private failOutstanding(): void {
    if (this.outstanding.size > 0) throw new Violation(`shutdown returned with ${this.outstanding.size} calls unanswered: ${[...this.outstanding].map((c) => c.what).join("; ")}`);
  }

  /** The process dies: nothing of it reaches the disk again, its timers are gone; a new one starts. */
  private async crash(): Promise<void> {
    this.disturbed = true;
    this.crashes++;
    const old = this.live;
    old.store.kill();
    // Its callers lost the connection: they were told nothing.
    for (const c of this.calls) if (c.world === old.epoch && c.end === undefined) {
      c.end = Date.now();
      c.outcome = "unknown";
      this.outstanding.delete(c);
    }
    this.unknownPending();
    const now = this.clock.now;
    this.clock.uninstall();
    this.clock = FakeTimers.withGlobal(globalThis).install({
      now,
      toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "Date", "performance"],
    });
    await this.boot();
  }

  // ---- invariants --------------------------------------------------------------------

  /** After every step. */
  private checkStep(): void {
    if (this.violation) throw this.violation;
    const byId = new Map<string, number>();
    for (const inst of this.live.instances) {
      if (inst.status !== "ready" && inst.status !== "stopping") continue;
      const n = (byId.get(inst.id) ?? 0) + 1;
      byId.set(inst.id, n);
      if (n > 1) throw new Violation(`two live instances of ${inst.id}`);
    }
    for (const [name, v] of this.gauges()) if (v < 0) throw new Violation(`gauge ${name} is negative: ${v}`);
    for (const wr of this.writes.values()) {
      if (wr.outcome === "fail" && !this.gone.has(wr.actorId) && this.stateHas(wr.actorId, wr.op)) throw new Violation(`write ${wr.op} was told failed but its state is stored`);
    }
  }

  private gauges(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [name, type] of this.live.manager.types) {
      const m = type.metrics;
      if (!m) continue;
      out.push([`actors_active{${name}}`, (m.actorsActive as unknown as { value: number }).value]);
      out.push([`connections_active{${name}}`, (m.connectionsActive as unknown as { value: number }).value]);
      out.push([`inbox_depth{${name}}`, (m.inboxDepth as unknown as { value: number }).value]);
      if (m.websocketsActive) out.push([`websockets_active{${name}}`, (m.websocketsActive as unknown as { value: number }).value]);
      for (const [q, qm] of m.queues) out.push([`queue_depth{${name},${q}}`, (qm.depth as unknown as { value: number }).value]);
    }
    return out;
  }

  private stateOf(actorId: string): { ops: number[]; handled?: number[]; fired?: number[]; taken?: number[] } | undefined {
    const bytes = (this.disk as unknown as { states: Map<string, Uint8Array> }).states.get(actorId);
    return bytes ? (cbor.decode(bytes) as { ops: number[] }) : undefined;
  }

  private stateHas(actorId: string, op: number): boolean {
    return this.stateOf(actorId)?.ops.includes(op) ?? false;
  }

  private sqlHas(actorId: string, id: number): boolean {
    const image = (this.disk as unknown as { images: Map<string, Buffer> }).images.get(actorId);
    if (!image) return false;
    const db = new Database(image, { readonly: true });
    try {
      return db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'ops'").get() !== undefined && db.prepare("SELECT 1 FROM ops WHERE id = ?").get(id) !== undefined;
    } finally {
      db.close();
    }
  }

  private kvHas(actorId: string, key: string): boolean {
    const m = (this.disk as unknown as { kv: Map<string, Map<string, unknown>> }).kv.get(actorId);
    return m?.has(Buffer.from(encodeKey(key)).toString("hex")) ?? false;
  }

  /** A reply or an event about `op` left: what it reflects must be durable now. */
  private mustBeDurable(actorId: string, type: string, op: number, kinds: number, what: string): void {
    if (this.gone.has(actorId)) return;
    // A turn that used SQL is durable once its SQL transaction (with its redo record) committed.
    const durable = this.stateHas(actorId, op) || (type === "acct" && (kinds & SQL) !== 0 && this.sqlHas(actorId, op));
    if (!durable) {
      const rec = (this.disk as unknown as { records: Map<string, unknown> }).records.has(actorId);
      this.violation ??= new Violation(`${what} for write ${op} left before its commit (actor ${actorId} stored: ${rec}, stored ops: ${JSON.stringify(this.stateOf(actorId)?.ops)})`);
    }
    if (type === "room" && !this.kvHas(actorId, `op:${op}`)) this.violation ??= new Violation(`${what} for room write ${op} left before its KV commit`);
  }

  /** Runs until every call settled and every actor is idle: the end of a schedule. */
  async quiesce(): Promise<void> {
    // Every call gets its answer first; then the clients leave; then the actors may sleep.
    await this.runUntil(() => this.outstanding.size === 0);
    for (const c of this.live.conns) if (c.conn && !c.closed) {
      c.closed = true;
      void c.conn.closed("client_closed");
    }
    for (const sock of this.live.sockets) if (!sock.closed) {
      sock.closed = true;
      sock.control.onClose?.(1000, "");
    }
    await this.runUntil(() => this.outstanding.size === 0 && this.live.manager.liveCount === 0);
    if (this.outstanding.size > 0) throw new Violation(`${this.outstanding.size} calls never settled: ${this.calls.filter((c) => c.end === undefined).map((c) => c.what).join("; ")}`);
    if (this.live.manager.liveCount > 0) {
      const awake = this.live.instances.filter((i) => i.status === "ready" || i.status === "stopping");
      const detail = awake.map((i) => `${i.id}(${i.type.name}) ${i.status} conns=${i.conns.size} sockets=${i.raw.sockets.size} inbox=${i.inboxDepth} queued=${i.queues?.size ?? 0} idle=${i.idle}`).join("; ");
      throw new Violation(`${this.live.manager.liveCount} actors still awake with nothing to do: ${detail}`);
    }
    this.checkStep();
    for (const c of this.calls) {
      if (c.end !== undefined && c.outcome !== "unknown" && c.end - c.start > c.bound) throw new Violation(`call "${c.what}" took ${c.end - c.start} ms (bound ${c.bound} ms)`);
    }
    await this.checkGaugesAtRest();
  }

  /** Releases scheduled work and moves the clock until `done` holds for a while (or a bound passes). */
  private async runUntil(done: () => boolean): Promise<void> {
    let stable = 0;
    for (let i = 0; i < LIMIT_STEPS; i++) {
      if (this.s.count() > 0) {
        await this.s.waitIdle();
        stable = 0;
        continue;
      }
      await this.clock.tickAsync(20);
      if (this.violation) throw this.violation;
      stable = done() && this.s.count() === 0 ? stable + 1 : 0;
      if (stable > 20) return;
    }
  }

  private async checkGaugesAtRest(): Promise<void> {
    const backlog = await this.disk.queueBacklog();
    for (const [name, v] of this.gauges()) {
      const queue = /^queue_depth\{(\w+),(\w+)\}$/.exec(name);
      const truth = queue ? backlog.filter((b) => b.actorName === queue[1] && b.queue === queue[2]).reduce((a, b) => a + b.count, 0) : 0;
      if (v !== truth) throw new Violation(`gauge ${name} reads ${v} at rest; the truth is ${truth}`);
    }
  }

  /** Graceful shutdown ends within a bound and runs onSleep for every live instance. */
  async shutdown(): Promise<void> {
    const w = this.live;
    const started = Date.now();
    this.stopping = true;
    await this.settle(w.registry.shutdown());
    const took = Date.now() - started;
    const bound = 6 * (TIMEOUT_MS + LATE_MAX_MS);
    if (took > bound) throw new Violation(`shutdown took ${took} ms (bound ${bound})`);
    // Every instance that went live and was not abandoned ran onSleep (or onDestroy), creations in flight included.
    for (const [t, { actorId, instance }] of w.tokens) {
      if (w.woke.has(t) && !w.slept.has(t) && !instance?.crashed) throw new Violation(`instance ${t} of ${actorId} went live but never ran onSleep (status ${instance?.status})`);
    }
  }

  /** Exactly-once and the processed counter, for a world nothing disturbed. */
  private checkHandledOnce(): void {
    if (this.disturbed || this.epoch > 1 || this.faultsSeen()) return;
    let handled = 0;
    for (const [msg, m] of this.sends) {
      if (m.queue !== "jobs" || m.outcome !== "ok" || m.hang || this.gone.has(m.actorId)) continue;
      const runs = this.live.handlerRuns.get(msg) ?? 0;
      if (runs !== 1) throw new Violation(`message ${msg} was handled ${runs} times with no fault in the run`);
      handled++;
    }
    const type = this.live.manager.types.get("acct")!;
    const processed = (type.metrics!.queues.get("jobs")!.processed.ok as unknown as { value: number }).value;
    const ranOk = [...this.sends.entries()].filter(([msg, m]) => m.queue === "jobs" && !m.hang && (this.live.handlerRuns.get(msg) ?? 0) > 0).length;
    if (processed !== ranOk) throw new Violation(`troupe_actor_queue_messages_processed_total{result="ok"} is ${processed}; ${ranOk} messages were handled`);
    void handled;
  }

  /** After a clean restart: every acknowledged write is there, nothing told failed is. */
  async audit(): Promise<{ writes: number; messages: number; alarms: number }> {
    this.checkHandledOnce();
    await this.shutdown();
    // The audit reads through a healthy disk: it judges what the faulty run left behind.
    await this.runUntil(() => this.outstanding.size === 0);
    this.stopping = false;
    await this.boot(true);
    // Every stored key still names its actor: asked by key (as getOrCreate), the directory must
    // find it, whether or not the restarted placement has finished reading its keys yet.
    for (const rec of await this.disk.listActors({ limit: 10_000 })) {
      let r: { ok: boolean; code?: string; body: unknown } | undefined;
      await this.settle(this.http("PUT", "/actors", { name: rec.name, key: serializeActorKey(rec.key) }).then((x) => (r = x)));
      const got = r!.ok ? (r!.body as { actor: { actor_id: string } }).actor.actor_id : `(${r!.code})`;
      if (got !== rec.id) throw new Violation(`after the restart, ${rec.name} ${JSON.stringify(rec.key)} resolved to ${got}, not its stored actor ${rec.id}`);
    }
    const ids = new Map<string, string>();
    for (const wr of this.writes.values()) if (!this.gone.has(wr.actorId)) ids.set(wr.actorId, wr.type);
    for (const m of this.sends.values()) if (!this.gone.has(m.actorId)) ids.set(m.actorId, "acct");
    let writes = 0;
    let messages = 0;
    let alarms = 0;
    const audits = new Map<string, { state: { ops: number[]; handled?: number[]; fired?: number[]; taken?: number[] }; kv: number[]; handledKv: number[]; sql: number[] }>();
    for (const [id, type] of ids) {
      if (!(await this.disk.findById(id))) continue;
      let result: { ok: boolean; code?: string; body: unknown } | undefined;
      const p = this.action(id, "audit", []).then((r) => (result = r));
      await this.settle(p);
      if (!result!.ok) throw new Violation(`audit of ${id} (${type}) failed: ${result!.code}`);
      audits.set(id, (result!.body as { output: never }).output);
    }
    // Let missed alarms and queued messages run after the restart, then read again.
    await this.quiesce();
    for (const id of audits.keys()) {
      let result: { ok: boolean; code?: string; body: unknown } | undefined;
      await this.settle(this.action(id, "audit", []).then((r) => (result = r)));
      audits.set(id, (result!.body as { output: never }).output);
    }
    for (const wr of this.writes.values()) {
      const a = audits.get(wr.actorId);
      if (!a || this.gone.has(wr.actorId)) continue;
      const inState = a.state.ops.includes(wr.op);
      const inKv = a.kv.includes(wr.op);
      const inSql = a.sql.includes(wr.op);
      if (wr.outcome === "ok") {
        writes++;
        if (!inState) throw new Violation(`acknowledged write ${wr.op} lost from state`);
        if (wr.kinds & KV && !inKv) throw new Violation(`acknowledged write ${wr.op} lost from KV`);
        if (wr.kinds & SQL && !inSql) throw new Violation(`acknowledged write ${wr.op} lost from SQL`);
        if (wr.kinds & ALARM) {
          alarms++;
          const fired = (a.state.fired ?? []).filter((x) => x === wr.op).length;
          const unarm = this.unarms.get(wr.op);
          // Cancelled (and told so): never fires. A cancel that failed changed nothing.
          const expected = unarm?.outcome === "ok" && unarm.cancelled ? [0] : unarm?.outcome === "unknown" ? [0, 1] : [1];
          if (!expected.includes(fired)) throw new Violation(`acknowledged alarm of write ${wr.op} fired ${fired} times (cancel: ${JSON.stringify(unarm)})`);
        }
      } else if (wr.outcome === "fail") {
        if (inState || inKv || inSql) throw new Violation(`write ${wr.op} was told failed but is visible (state ${inState}, kv ${inKv}, sql ${inSql})`);
        if ((a.state.fired ?? []).includes(wr.op)) throw new Violation(`write ${wr.op} was told failed but its alarm fired`);
      }
      if (new Set(a.state.ops).size !== a.state.ops.length) throw new Violation(`state of ${wr.actorId} holds a write twice`);
    }
    for (const [msg, m] of this.sends) {
      const a = audits.get(m.actorId);
      if (!a || this.gone.has(m.actorId) || m.queue !== "jobs") continue;
      const count = (a.state.handled ?? []).filter((x) => x === msg).length;
      if (count > 1) throw new Violation(`message ${msg}'s effects were applied ${count} times`);
      if (m.outcome === "ok" && !m.hang) {
        messages++;
        // Faults can use up a message's attempts: then it must be a dead letter, not lost.
        const faults = this.disturbed || this.faultsSeen();
        if (count === 0 && faults && this.isDeadLetter(msg)) continue;
        if (count !== 1) throw new Violation(`acknowledged message ${msg} was never handled`);
        if (!a.handledKv.includes(msg)) throw new Violation(`acknowledged message ${msg}'s KV write is missing`);
      }
      if (m.outcome === "fail" && count > 0) throw new Violation(`message ${msg} was refused but handled`);
    }
    for (const [id, a] of audits) {
      const greeted = (a.state as { greeted?: number }).greeted;
      if (greeted !== undefined && greeted !== 1) throw new Violation(`${id}'s onCreate alarm fired ${greeted} times`);
      const taken = a.state.taken ?? [];
      if (new Set(taken).size !== taken.length) throw new Violation(`${id} took a message twice with c.queue.next`);
    }
    return { writes, messages, alarms };
  }

  private faultsSeen(): boolean {
    return this.allStores.some((st) => st.stats.failed > 0 || st.stats.sqlFull > 0);
  }

  private isDeadLetter(seqHint: number): boolean {
    void seqHint;
    const messages = (this.disk as unknown as { messages: Map<number, { dead: boolean; body: Uint8Array }> }).messages;
    for (const m of messages.values()) if (m.dead && (cbor.decode(m.body) as { id: number }).id === seqHint) return true;
    return false;
  }

  get stats() {
    const sum = (k: "commits" | "failed" | "late" | "sqlFull") => this.allStores.reduce((a, st) => a + st.stats[k], 0);
    return { commits: sum("commits"), failed: sum("failed"), late: sum("late"), sqlFull: sum("sqlFull"), crashes: this.crashes, restarts: this.restarts, calls: this.calls.length };
  }

  private crashes = 0;
  /** A graceful shutdown is under way: server_stopping is a fair answer. */
  private stopping = false;
  private restarts = 0;

  /** Every queued write in the group committer was flushed or failed: nothing dangles. */
  async end(): Promise<void> {
    await this.settle(this.live.registry.shutdown()).catch(() => {});
  }
}
