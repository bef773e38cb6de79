import { actor, UserError } from "../../src/index.js";

/** What a write does besides changing state (bit flags). */
export const KV = 1;
export const SQL = 2;
export const EVENT = 4;
export const ALARM = 8;

/** How a write ends. */
export type Mode = "ok" | "throw" | "hang" | "slow";

export const TIMEOUT_MS = 100;
export const SLEEP_MS = 40;
export const ALARM_MS = 30;
export const SLOW_MS = 30;

/** The harness's view into each world's actors: who lives, what ran. */
export interface Probe {
  /** createVars: a new instance of `actorId`; returns its token. */
  born(actorId: string): number;
  slept(actorId: string, token: number): void;
  woke(actorId: string, token: number): void;
  handlerRan(actorId: string, messageId: number): void;
  /** pong called back into its caller (`sameActor`: the caller's own id, not a new actor of its key) and got `code`. */
  calledBack(sameActor: boolean, code: string): void;
}

const never = () => new Promise<never>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function finish(mode: Mode): Promise<void> {
  if (mode === "throw") throw new UserError("refused on purpose", { code: "sim_refused" });
  if (mode === "hang") await never();
  if (mode === "slow") await sleep(SLOW_MS);
}

/** The acct type's write: one op into state and the capabilities `kinds` names. (Typed loosely: shared by two actions.) */
async function acctWrite(c: any, op: number, kinds: number, mode: Mode): Promise<number> {
  c.state.ops.push(op);
  if (kinds & KV) await c.kv.put(`op:${op}`, op);
  if (kinds & SQL) c.db.run("INSERT INTO ops (id) VALUES (?)", [op]);
  if (kinds & EVENT) c.broadcast("op", op);
  if (kinds & ALARM) c.state.alarmIds[op] = c.schedule.after(ALARM_MS, "fired", op);
  await finish(mode);
  return op;
}

/** The room type's write: reentrant, so it waits between its KV write and its state change. */
async function roomWrite(c: any, op: number, mode: Mode, delayMs: number): Promise<number> {
  await c.kv.put(`op:${op}`, op);
  c.broadcast("op", op);
  await sleep(delayMs);
  if (mode === "throw") throw new UserError("refused on purpose", { code: "sim_refused" });
  if (mode === "hang") await never();
  c.state.ops.push(op);
  return op;
}

/** The actor types of a simulated world, wired to its probe. */
export function simActors(probe: Probe) {
  const acct = actor({
    state: { ops: [] as number[], handled: [] as number[], fired: [] as number[], taken: [] as number[], alarmIds: {} as Record<number, string>, greeted: 0 },
    createVars: (c) => ({ token: probe.born(c.actorId) }),
    // An alarm staged before the instance is live must not wake a second copy of it.
    onCreate: (c) => void c.schedule.after(0, "greet"),
    // A read makes the wake take a while, so other work (an alarm from onCreate) can interleave.
    onWake: async (c) => {
      probe.woke(c.actorId, c.vars.token);
      await c.kv.get("wake");
    },
    onSleep: (c) => probe.slept(c.actorId, c.vars.token),
    onDestroy: (c) => probe.slept(c.actorId, c.vars.token),
    onConnect: (_c, conn) => {
      if ((conn.params as { bad?: boolean } | undefined)?.bad) throw new UserError("not admitted", { code: "sim_refused" });
    },
    db: { migrations: ["CREATE TABLE ops (id INTEGER PRIMARY KEY)"] },
    options: { sleepTimeoutMs: SLEEP_MS, actionTimeoutMs: TIMEOUT_MS },
    queues: {
      jobs: {
        // Synchronous unless it hangs: a handler that finishes within its delivery is the hard case.
        handler: (c, body: { id: number; hang?: boolean; sql?: boolean }) => {
          probe.handlerRan(c.actorId, body.id);
          if (body.hang) return never();
          c.state.handled.push(body.id);
          void c.kv.put(`h:${body.id}`, 1);
          if (body.sql) c.db.run("INSERT OR IGNORE INTO ops (id) VALUES (?)", [-body.id]);
          return body.id;
        },
        maxAttempts: 2,
        backoffMs: 10,
      },
      inbox: {},
    },
    actions: {
      write: (c, op: number, kinds: number, mode: Mode) => acctWrite(c, op, kinds, mode),
      /** `write` with the actor's id, for a caller that named the actor by key (getOrCreate and the call in one request). */
      writeByKey: async (c, op: number, kinds: number, mode: Mode) => [c.actorId, await acctWrite(c, op, kinds, mode)],
      fired: (c, op: number) => {
        c.state.fired.push(op);
      },
      greet: (c) => {
        c.state.greeted++;
      },
      /** Cancels the alarm a write set; false if it is gone (fired or cancelled). */
      unarm: (c, op: number, mode: Mode) => {
        const id = c.state.alarmIds[op];
        const cancelled = id !== undefined && c.schedule.cancel(id);
        if (mode === "throw") throw new UserError("refused on purpose", { code: "sim_refused" });
        return cancelled;
      },
      sleepNow: (c) => c.sleep(),
      destroyMe: (c) => c.destroy(),
      /** Calls another actor: a chain of turns through c.client(). */
      relay: async (c, key: string, op: number) => (c.client() as any).acct.getOrCreate([key]).writeByKey(op, KV, "ok"),
      /** A→B→A: B calls back into A, whose turn is waiting on B. */
      ping: async (c, key: string) => (c.client() as any).acct.getOrCreate([key]).pong(c.key[0], c.actorId),
      pong: async (c, back: string, callerId: string) => {
        const h = (c.client() as any).acct.getOrCreate([back]);
        let code = "ok";
        try {
          await h.count();
        } catch (err) {
          code = (err as { code?: string }).code ?? "unknown";
        }
        // A destroyed caller's key may name a new actor by now: only a call into the caller itself is a cycle.
        probe.calledBack((await h.resolve()) === callerId, code);
        return code;
      },
      count: (c) => c.state.ops.length,
      take: async (c, timeoutMs: number) => {
        const m = await c.queue.next<{ id: number }>("inbox", { timeoutMs });
        if (m) c.state.taken.push(m.body.id);
        return m?.body.id ?? null;
      },
      audit: async (c) => {
        const kv = (await c.kv.list({ prefix: "op:" })).map(([, v]) => v as number);
        const handledKv = (await c.kv.list({ prefix: "h:" })).map(([k]) => Number(String(k).slice(2)));
        const sql = (c.db.query<{ id: number }>("SELECT id FROM ops ORDER BY id")).map((r) => r.id);
        return { state: c.state, kv, handledKv, sql };
      },
    },
    onRequest: (c) => new Response(String(c.state.ops.length)),
    onWebSocket: (_c, ws) => {
      ws.onMessage((d) => ws.send(d));
    },
  });

  // Reentrant: turns overlap, each must commit only its own writes and events.
  const room = actor({
    state: { ops: [] as number[] },
    createVars: (c) => ({ token: probe.born(c.actorId) }),
    onWake: (c) => probe.woke(c.actorId, c.vars.token),
    onSleep: (c) => probe.slept(c.actorId, c.vars.token),
    onDestroy: (c) => probe.slept(c.actorId, c.vars.token),
    options: { sleepTimeoutMs: SLEEP_MS, actionTimeoutMs: TIMEOUT_MS, reentrant: true },
    actions: {
      write: (c, op: number, _kinds: number, mode: Mode, delayMs = 5) => roomWrite(c, op, mode, delayMs),
      writeByKey: async (c, op: number, _kinds: number, mode: Mode) => [c.actorId, await roomWrite(c, op, mode, 5)],
      audit: async (c) => {
        const kv = (await c.kv.list({ prefix: "op:" })).map(([, v]) => v as number);
        return { state: c.state, kv, handledKv: [], sql: [] };
      },
    },
  });

  return { acct, room };
}
