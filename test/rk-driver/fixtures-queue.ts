import { actor } from "../../src/index.js";

// Fixture actors of RivetKit's driver suite queue.ts re-expressed in Troupe's API. RivetKit
// reads queues with `c.queue.next({ names, timeout })` / `nextBatch`; Troupe reads one queue
// declared without a handler with `c.queue.next(name, { timeoutMs })`, and a queue with a
// handler answers a `wait: true` sender with the handler's result (RivetKit's `complete()`).

const MANUAL = ["greeting", "self", "a", "b", "c", "one", "two", "missing", "timeout", "nowait"] as const;
type Manual = (typeof MANUAL)[number];

/**
 * RivetKit's nextBatch({ names, count, timeout }): up to `count` messages of the named queues
 * (all of them by default) in the order they were sent; waits only when none is there.
 */
async function nextBatch(c: any, req: { names?: readonly Manual[]; count?: number; timeout?: number }) {
  const names = req.names ?? MANUAL;
  const count = req.count ?? 1;
  const got: Array<{ id: number; name: string; body: unknown }> = [];
  for (const name of names) {
    while (got.length < count) {
      const m = await c.queue.next(name, { timeoutMs: 0 });
      if (!m) break;
      got.push({ id: m.id, name, body: m.body });
    }
  }
  if (got.length === 0 && req.timeout && names.length > 0) {
    const m = await c.queue.next(names[0], { timeoutMs: req.timeout });
    if (m) got.push({ id: m.id, name: names[0]!, body: m.body });
  }
  return got.sort((x, y) => x.id - y.id).map(({ name, body }) => ({ name, body }));
}

export const queueActor = actor({
  state: {},
  queues: {
    ...Object.fromEntries(MANUAL.map((n) => [n, {}])),
    // RivetKit's receiveAndComplete({ echo: body }) on "tasks".
    tasks: (_c: unknown, body: { value: number }) => ({ echo: body }),
  },
  actions: {
    receiveOne: async (c, name: Manual, opts?: { timeout?: number }) => {
      const m = await c.queue.next(name, { timeoutMs: opts?.timeout ?? 0 });
      return m ? { name, body: m.body } : null;
    },
    receiveMany: (c, names: Manual[], opts?: { count?: number; timeout?: number }) => nextBatch(c, { names, ...opts }),
    receiveRequest: (c, req: { names?: Manual[]; count?: number; timeout?: number }) => nextBatch(c, req),
    tryReceiveMany: (c, req: { names?: Manual[]; count?: number }) => nextBatch(c, { ...req, timeout: 0 }),
    // The actor sends to its own queue through its client, as RivetKit's fixture does.
    sendToSelf: async (c, name: Manual, body: unknown) => {
      await (c.client() as any).queueActor.getForId(c.actorId).send(name, body);
      return true;
    },
  },
});

/** RivetKit's names, dotted as its apps write them. */
export const MANY_QUEUE_NAMES = Array.from({ length: 32 }, (_, i) => `cmd.${i}`);

/** A child with 32 queues, each handled by recording its name (RivetKit's run loop over iter()). */
export const manyQueueChildActor = actor({
  createState: (_c, label: string | undefined) => ({ label: label ?? null, started: false, processed: [] as string[] }),
  // RivetKit's `run` sets `started`; Troupe has no run handler, onWake is the nearest.
  onWake: (c) => {
    c.state.started = true;
  },
  queues: Object.fromEntries(
    MANY_QUEUE_NAMES.map((name) => [
      name,
      (c: any, body: { index: number }) => {
        c.state.processed.push(name);
        return { ok: true, index: body.index };
      },
    ]),
  ),
  actions: {
    ping: (c) => ({ label: c.state.label, pong: true }),
    getSnapshot: (c) => c.state,
  },
});

/** Creates a child from an action, through the actor's own client. */
export const manyQueueActionParentActor = actor({
  state: { spawned: [] as string[] },
  actions: {
    spawnChild: async (c, key: string) => {
      await (c.client() as any).manyQueueChildActor.getOrCreate([key], { createWithInput: key }).resolve();
      c.state.spawned.push(key);
      return { key };
    },
    getSpawned: (c) => c.state.spawned,
  },
});

export const queueFixtures = { queueActor };
/** Apart, so that a registry refusing the child's queue names fails only the test that uses it. */
export const manyQueueFixtures = { manyQueueChildActor, manyQueueActionParentActor };
