import { errors, TroupeError } from "../common/errors.js";
import type { StoredMessage, StoreWrite } from "../storage/types.js";
import type { CounterLike, GaugeLike, HistogramLike } from "./metrics-port.js";
import { cbor } from "./state-codec.js";

export interface QueueMetrics {
  depth: GaugeLike;
  sent: CounterLike;
  processed: { ok: CounterLike; error: CounterLike; dead: CounterLike };
  wait: HistogramLike;
}

/** A declared queue, as the runtime uses it. */
export interface QueueSpec {
  handler: ((c: any, body: unknown, message: { id: number; attempts: number }) => unknown) | undefined;
  maxAttempts: number;
  backoffMs: number;
}

export type MessageOutcome = { ok: true; output: unknown } | { ok: false; error: TroupeError };

/** What the queues need from their instance. */
export interface QueueHost {
  readonly id: string;
  readonly actorName: string;
  readonly specs: ReadonlyMap<string, QueueSpec>;
  readonly metrics: ReadonlyMap<string, QueueMetrics> | undefined;
  /** Runs a handler as a turn; `finish` stages the message's fate with the turn, whatever the outcome. */
  runHandler(label: string, run: (ctx: unknown) => unknown, finish: (ok: boolean, output: unknown, error: unknown) => void): void;
  /** Stages a write with the current turn, with an undo (rollback) and a settle (durable). */
  stageWith(write: StoreWrite, undo: () => void, settle: () => void): void;
  /** The current turn decided a message's outcome (kept in its SQL redo record, if any). */
  decided(seq: number, outcome: MessageOutcome): void;
  /** A message reached its end (handled, taken, or dead): tell a sender waiting on it. */
  messageSettled(seq: number, outcome: MessageOutcome): void;
  readonly log: { error(obj: object, msg: string): void };
}

export interface QueueMessage<T = unknown> {
  id: number;
  body: T;
  attempts: number;
}

/** One handler turn for one message. */
interface Delivery {
  readonly msg: StoredMessage;
  /** Dropped unrun: the message before it came back (its turn's commit was refused). */
  dropped: boolean;
}

/**
 * An actor's durable queues in memory: messages in seq order per queue, one handled at a
 * time per queue. A message's removal (or its retry count) is staged with the turn that
 * handled it, so it stays stored until the handler's effects are durable: at least once.
 */
export class ActorQueues {
  private readonly pending = new Map<string, StoredMessage[]>();
  /**
   * The delivery each queue waits on. A handler turn frees its queue when its fate is staged, so
   * the next message's turn can follow before that commit lands; an SQL commit that is then
   * refused stages the fate again, and the next delivery, already queued, is dropped.
   */
  private readonly inFlight = new Map<string, Delivery>();
  private readonly nextWaiters = new Map<string, Array<(m: StoredMessage | undefined) => void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly host: QueueHost) {}

  /** Messages waiting for a handler or for next(), across queues. */
  get size(): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.length;
    return n;
  }

  /** True while a handler queue has messages: the actor must not sleep on them. */
  get hasHandlerWork(): boolean {
    for (const [q, list] of this.pending) if (list.length > 0 && this.host.specs.get(q)?.handler) return true;
    return false;
  }

  /**
   * Adds stored or newly sent messages (duplicates by seq are ignored) and starts handling.
   * False when the queues are closed: the instance is unloading and the next wake loads them.
   */
  deliver(messages: readonly StoredMessage[]): boolean {
    if (this.closed) return false;
    for (const m of messages) {
      const list = this.pending.get(m.queue) ?? [];
      if (list.some((x) => x.seq === m.seq)) continue;
      list.push(m);
      list.sort((a, b) => a.seq - b.seq);
      this.pending.set(m.queue, list);
      const waiters = this.nextWaiters.get(m.queue);
      if (waiters?.length) waiters.shift()!(undefined);
    }
    this.pump();
    return true;
  }

  /** Starts the next handler turn for every queue that is idle and has a due message. */
  pump(): void {
    if (this.closed) return;
    let soonest = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (const [queue, list] of this.pending) {
      const spec = this.host.specs.get(queue);
      if (!spec?.handler || this.inFlight.has(queue) || list.length === 0) continue;
      const head = list[0]!;
      if (head.availableAt > now) {
        soonest = Math.min(soonest, head.availableAt);
        continue;
      }
      this.handle(queue, spec, head);
    }
    if (soonest !== Number.POSITIVE_INFINITY) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.pump(), Math.max(0, soonest - now));
    }
  }

  private handle(queue: string, spec: QueueSpec, msg: StoredMessage): void {
    const delivery: Delivery = { msg, dropped: false };
    this.inFlight.set(queue, delivery);
    const m = this.host.metrics?.get(queue);
    this.host.runHandler(
      `queue:${queue}`,
      (ctx) => {
        if (delivery.dropped) return undefined;
        if (msg.attempts === 0) m?.wait.observe(Math.max(0, Date.now() - msg.enqueuedAt) / 1000);
        return spec.handler!(ctx, cbor.decode(msg.body), { id: msg.seq, attempts: msg.attempts });
      },
      (ok, output, error) => this.finish(queue, spec, delivery, ok, output, error),
    );
  }

  /**
   * Stages a delivery's fate with its turn. The turn loop calls this at the commit point and,
   * if that commit is then refused, once more with ok false (the staged acknowledgement was
   * rolled back and the message put back first in line).
   */
  private finish(queue: string, spec: QueueSpec, delivery: Delivery, ok: boolean, output: unknown, error: unknown): void {
    if (delivery.dropped) return;
    const { msg } = delivery;
    const current = this.inFlight.get(queue);
    // Started while this turn's commit was pending: the message it took is no longer next.
    if (current !== undefined && current !== delivery) current.dropped = true;
    const list = this.pending.get(queue)!;
    const m = this.host.metrics?.get(queue);
    if (ok) {
      this.take(list, msg, { ok: true, output }, () => m?.processed.ok.inc());
    } else if (msg.attempts + 1 >= spec.maxAttempts) {
      this.host.log.error({ err: error, queue, messageId: msg.seq, attempts: msg.attempts + 1 }, "queue message failed its last attempt; it is now a dead letter");
      const dead = errors.queueMessageDead(msg.attempts + 1);
      this.remove(list, msg);
      this.host.decided(msg.seq, { ok: false, error: dead });
      this.host.stageWith(
        { kind: "queueRetry", actorId: this.host.id, seq: msg.seq, queue, attempts: msg.attempts + 1, availableAt: msg.availableAt, dead: true },
        () => this.restore(list, msg),
        () => {
          m?.processed.dead.inc();
          m?.depth.dec();
          this.host.messageSettled(msg.seq, { ok: false, error: dead });
        },
      );
    } else {
      const attempts = msg.attempts + 1;
      const availableAt = Date.now() + spec.backoffMs * 2 ** (attempts - 1);
      const before = { attempts: msg.attempts, availableAt: msg.availableAt };
      Object.assign(msg, { attempts, availableAt });
      this.host.stageWith(
        { kind: "queueRetry", actorId: this.host.id, seq: msg.seq, queue, attempts, availableAt, dead: false },
        () => Object.assign(msg, before),
        () => m?.processed.error.inc(),
      );
    }
    this.inFlight.delete(queue);
  }

  /** `c.queue.next(name)`: the next message of a queue without a handler, or undefined after `timeoutMs`. */
  async next<T = unknown>(queue: string, opts: { timeoutMs?: number } = {}): Promise<QueueMessage<T> | undefined> {
    const spec = this.host.specs.get(queue);
    if (!spec) throw errors.queueNotFound(this.host.actorName, queue);
    if (spec.handler) throw errors.queueHasHandler(queue);
    const timeoutMs = opts.timeoutMs ?? 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = this.pending.get(queue) ?? [];
      const msg = list.find((x) => x.availableAt <= Date.now());
      if (msg) {
        const m = this.host.metrics?.get(queue);
        if (msg.attempts === 0) m?.wait.observe(Math.max(0, Date.now() - msg.enqueuedAt) / 1000);
        this.take(list, msg, { ok: true, output: undefined }, () => m?.processed.ok.inc());
        return { id: msg.seq, body: cbor.decode(msg.body) as T, attempts: msg.attempts };
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return undefined;
      await new Promise<StoredMessage | undefined>((resolve) => {
        const waiters = this.nextWaiters.get(queue) ?? [];
        this.nextWaiters.set(queue, waiters);
        const timer = setTimeout(() => {
          const i = waiters.indexOf(wake);
          if (i >= 0) waiters.splice(i, 1);
          resolve(undefined);
        }, left);
        const wake = (v: StoredMessage | undefined) => {
          clearTimeout(timer);
          resolve(v);
        };
        waiters.push(wake);
      });
    }
  }

  /** Removes a message now and stages its acknowledgement; rollback puts it back. */
  private take(list: StoredMessage[], msg: StoredMessage, outcome: MessageOutcome, count: () => void): void {
    this.remove(list, msg);
    this.host.decided(msg.seq, outcome);
    const m = this.host.metrics?.get(msg.queue);
    this.host.stageWith(
      { kind: "queueAck", actorId: this.host.id, seq: msg.seq, queue: msg.queue },
      () => this.restore(list, msg),
      () => {
        count();
        m?.depth.dec();
        this.host.messageSettled(msg.seq, outcome);
      },
    );
  }

  private remove(list: StoredMessage[], msg: StoredMessage): void {
    const i = list.indexOf(msg);
    if (i >= 0) list.splice(i, 1);
  }

  private restore(list: StoredMessage[], msg: StoredMessage): void {
    if (!list.includes(msg)) {
      list.push(msg);
      list.sort((a, b) => a.seq - b.seq);
    }
  }

  /** The instance is unloading: stop timers and release waiting next() calls. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const waiters of this.nextWaiters.values()) for (const w of waiters.splice(0)) w(undefined);
  }
}
