import type { Logger } from "pino";
import type { ActorType } from "../actor/actor-type.js";
import type { MessageOutcome } from "../actor/queue.js";
import { assertStorable, cbor } from "../actor/state-codec.js";
import { errors } from "../common/errors.js";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { ActorRecord, StoredMessage } from "../storage/types.js";

/** What queue sends need from the manager. */
export interface QueueSendsHost {
  readonly committer: GroupCommitter;
  readonly logger: Logger;
  recordById(actorId: string): Promise<ActorRecord>;
  exists(actorId: string): Promise<boolean>;
  typeOf(name: string): ActorType;
  /** False once a shutdown began. */
  accepting(): boolean;
  destroying(actorId: string): boolean;
  /** How many destroys have committed so far: a send that raced one checks its actor again. */
  destroys(): number;
  /** The live instance's queues, woken if needed. */
  queuesOf(actorId: string): Promise<{ deliver(messages: readonly StoredMessage[]): boolean } | undefined>;
  /** The actor could not take the message now (unloading, or its wake failed): wake it again later. */
  wakeLater(actorId: string): void;
}

/**
 * Messages sent from outside an actor: stored durably before they are acknowledged, then handed
 * to the (woken) actor exactly once, and, with `wait`, answered with the handler's result.
 */
export class QueueSends {
  /** Senders waiting (`wait: true`) for a message's handler, by message seq. */
  private readonly waiters = new Map<number, (outcome: MessageOutcome) => void>();
  private lastSeq = 0;
  /** Sent messages not yet handed to an instance; a wake that loads one from the store takes it off. */
  private readonly undelivered = new Set<number>();
  /** Sends whose commit is in flight, per actor: a destroy waits for them to count the backlog. */
  private readonly sending = new Map<string, Set<Promise<unknown>>>();

  constructor(private readonly host: QueueSendsHost) {}

  /** New messages sort after every stored one. */
  restoreSeq(maxStored: number): void {
    this.lastSeq = Math.max(this.lastSeq, maxStored);
  }

  /** A wake loaded these from the store: their senders must not hand them over again. */
  loaded(messages: readonly StoredMessage[]): void {
    for (const m of messages) this.undelivered.delete(m.seq);
  }

  /** Resolves once no send to the actor is between its check and its commit. */
  async inFlight(actorId: string): Promise<void> {
    await Promise.allSettled([...(this.sending.get(actorId) ?? [])]);
  }

  /**
   * Stores a queue message durably, then hands it to the (woken) actor. With `wait`, resolves
   * with the handler's result once that is durable, or fails after `timeoutMs`.
   */
  async send(actorId: string, queue: string, body: unknown, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<{ messageId: number; output?: unknown }> {
    const host = this.host;
    if (!host.accepting()) throw errors.stopping();
    // Taken before the lookup: a destroy committed after it makes the lookup stale.
    const destroysBefore = host.destroys();
    const record = await host.recordById(actorId);
    const type = host.typeOf(record.name);
    const spec = type.queues.get(queue);
    if (!spec) throw errors.queueNotFound(type.name, queue);
    if (opts.wait && !spec.handler) throw errors.invalidRequest(`Queue "${queue}" has no handler, so there is no result to wait for`);
    assertStorable(body, "body");
    if (host.destroying(actorId)) throw errors.actorNotFound(actorId);
    // The lookups above yielded: a shutdown may have begun, and it no longer waits for new writes.
    if (!host.accepting()) throw errors.stopping();
    const now = Date.now();
    const message: StoredMessage = { seq: ++this.lastSeq, actorId, queue, body: cbor.encode(body), enqueuedAt: now, attempts: 0, availableAt: now };
    let waited: Promise<MessageOutcome> | undefined;
    if (opts.wait) waited = new Promise((resolve) => this.waiters.set(message.seq, resolve));
    this.undelivered.add(message.seq);
    const commit = host.committer.enqueue({ kind: "queuePush", actorId, message });
    const inFlight = this.sending.get(actorId) ?? new Set();
    this.sending.set(actorId, inFlight);
    inFlight.add(commit);
    try {
      await commit;
    } catch (err) {
      this.waiters.delete(message.seq);
      this.undelivered.delete(message.seq);
      throw errors.commitFailed(err);
    } finally {
      inFlight.delete(commit);
      if (inFlight.size === 0 && this.sending.get(actorId) === inFlight) this.sending.delete(actorId);
    }
    // A destroy that committed meanwhile (the lookup above was older than it) made the store
    // skip the message: the sender must hear that, not a messageId.
    if (host.destroys() !== destroysBefore && !(await host.exists(actorId))) {
      this.waiters.delete(message.seq);
      this.undelivered.delete(message.seq);
      throw errors.actorNotFound(actorId);
    }
    const m = type.metrics?.queues.get(queue);
    m?.sent.inc();
    m?.depth.inc();
    host.queuesOf(actorId).then(
      (queues) => {
        // A wake that loaded the message from the store took it off `undelivered` already.
        if (!this.undelivered.delete(message.seq)) return;
        if (!queues?.deliver([message])) host.wakeLater(actorId);
      },
      (err) => {
        this.undelivered.delete(message.seq);
        // The message is stored: the actor's next wake loads it. Make that wake happen.
        host.logger.warn({ err, actorId }, "queued a message for an actor that could not wake; retrying the wake");
        host.wakeLater(actorId);
      },
    );
    if (!waited) return { messageId: message.seq };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      waited,
      new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (outcome === "timeout") {
      this.waiters.delete(message.seq);
      throw errors.queueWaitTimedOut(timeoutMs, message.seq);
    }
    if (!outcome.ok) throw outcome.error;
    return { messageId: message.seq, output: outcome.output };
  }

  /** A message reached its end: tell its waiting sender, if any. */
  settled(seq: number, outcome: MessageOutcome): void {
    const waiter = this.waiters.get(seq);
    if (!waiter) return;
    this.waiters.delete(seq);
    waiter(outcome);
  }

  /** The server is shutting down: waiting senders hear now; their messages stay stored. */
  interruptWaiters(): void {
    for (const [seq, waiter] of [...this.waiters]) {
      this.waiters.delete(seq);
      waiter({ ok: false, error: errors.queueWaitInterrupted(seq) });
    }
  }
}
