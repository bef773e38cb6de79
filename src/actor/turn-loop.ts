import type { Logger } from "pino";
import { errors, TroupeError, UserError } from "../common/errors.js";
import type { ActorType } from "./actor-type.js";
import type { CallLog } from "./call-log.js";
import type { ActionContext } from "./context.js";
import type { OutputGate } from "./output-gate.js";
import type { TurnDatabase } from "./sql-turn.js";
import type { Task, TaskTarget } from "./task.js";
import { isPromiseLike, newTurn, reentrantTurn, TIMED_OUT, withTimeout, type Turn } from "./turn.js";

/** What the turn loop needs from its instance. */
export interface TurnLoopHost extends TaskTarget {
  readonly type: ActorType;
  readonly output: OutputGate;
  /** The actor's SQL database, when its type declares one. */
  readonly turnDb: TurnDatabase | undefined;
  readonly calls: CallLog;
  readonly log: Logger;
  /** Why the instance takes no task of this kind now, or undefined when it does. */
  refusal(task: Task): TroupeError | undefined;
  /** Tasks may start: the instance is live or stopping (its hooks still run). */
  readonly canRun: boolean;
  /** True once the instance was abandoned or stopped: a turn's results go nowhere. */
  readonly gone: boolean;
  taskContext(task: Task): ActionContext<any, any, any, any>;
  /** A turn failed: put the state back as the last snapshot has it. */
  restoreState(): void;
  /** A turn ran past its timeout: abandon the instance. */
  timedOut(): void;
  /** A turn ended (or a connection left): the instance may sleep, stop or take the next task. */
  afterTurn(): void;
}

/**
 * The inbox and the turns: tasks run one at a time in arrival order (unless the type is
 * reentrant), each bounded by `actionTimeoutMs`. A turn stages its writes in a Turn; at its
 * end they go to the output gate, and its reply waits there until they are durable.
 */
export class TurnLoop {
  /** Tasks waiting for their turn; made when one has to wait (a task that can start at once never enters it). */
  private inbox: Task[] | undefined;
  private running = 0;
  /** The running turn of a non-reentrant actor. */
  private active: Turn | undefined;
  /** Writes made outside any task (timers of user code); made on first use. */
  private loose: Turn | undefined;

  constructor(private readonly host: TurnLoopHost) {}

  get depth(): number {
    return this.inbox?.length ?? 0;
  }

  /** Turns running now. */
  get busy(): number {
    return this.running;
  }

  get empty(): boolean {
    return this.running === 0 && !this.inbox?.length;
  }

  /** Queues a task for its turn; the task settles after the output gate opens. */
  enqueue(task: Task): void {
    const refused = this.host.refusal(task);
    if (refused) {
      task.reject(refused);
      return;
    }
    // Only callers are capped: dropping an alarm, a queue delivery or a hook would lose work.
    const max = this.host.type.options.maxQueuedCalls;
    const waiting = this.inbox?.length ?? 0;
    if (task.fromCaller && waiting >= max) {
      task.reject(errors.actorOverloaded(max));
      return;
    }
    if (waiting === 0 && this.running < this.maxRunning && this.host.canRun) {
      // Nothing ahead of it and room to run: the turn starts now, as the pump would start it.
      this.running++;
      void this.run(task);
      return;
    }
    (this.inbox ??= []).push(task);
    this.host.type.metrics?.inboxDepth.inc();
    this.pump();
  }

  /** Empties the inbox (the instance was abandoned); the tasks move to a fresh instance. */
  takeInbox(): Task[] {
    // Emptied in place: a pump running now holds this array and must see it empty.
    const pending = this.inbox?.splice(0) ?? [];
    this.host.type.metrics?.inboxDepth.dec(pending.length);
    return pending;
  }

  pump(): void {
    const inbox = this.inbox;
    if (!inbox) return;
    const max = this.maxRunning;
    while (inbox.length > 0 && this.running < max && this.host.canRun) {
      const task = inbox.shift()!;
      this.host.type.metrics?.inboxDepth.dec();
      this.running++;
      void this.run(task);
    }
    // A drained inbox goes: its grown backing store would stay with an idle actor.
    if (inbox.length === 0 && this.inbox === inbox) this.inbox = undefined;
  }

  private get maxRunning(): number {
    return this.host.type.options.reentrant ? Number.POSITIVE_INFINITY : 1;
  }

  /** The staging buffer of the code running now. */
  current(): Turn {
    if (this.host.type.options.reentrant) return reentrantTurn.getStore() ?? (this.loose ??= newTurn(false));
    return this.active ?? (this.loose ??= newTurn(false));
  }

  /** Runs `fn` with `turn` as the staging buffer (reentrant turns carry it in their async context). */
  private inTurn<T>(turn: Turn, fn: () => T): T {
    if (this.host.type.options.reentrant) return reentrantTurn.run(turn, fn);
    this.active = turn;
    return fn();
  }

  private leave(turn: Turn): void {
    if (!this.host.type.options.reentrant && this.active === turn) this.active = undefined;
  }

  /** The inspector's log of recent calls: actions only. */
  private record(task: Task, startedAt: number, durationMs: number, outcome: "ok" | "error" | "user_error" | "timeout", code?: string): void {
    if (task.action) this.host.calls.record(task.label, startedAt, durationMs, outcome, code);
  }

  private async run(task: Task): Promise<void> {
    const { host } = this;
    const started = performance.now();
    const startedAt = Date.now();
    const turn = newTurn(true);
    const timeoutMs = host.type.options.actionTimeoutMs;
    let value: unknown;
    let failure: unknown;
    let failed = false;
    try {
      const ctx = host.taskContext(task);
      value = this.inTurn(turn, () => task.run(host, ctx));
      if (isPromiseLike(value)) value = await withTimeout(value, timeoutMs);
    } catch (err) {
      failed = true;
      failure = err;
    }
    const metrics = task.action?.metrics;
    const durationMs = performance.now() - started;
    metrics?.duration.observe(durationMs / 1000);

    if (host.gone) {
      // The instance was abandoned while this turn ran: its changes go nowhere.
      this.running--;
      this.leave(turn);
      // A concurrent (reentrant) turn that timed out after the crash still owes its caller an answer.
      task.reject(failed && failure === TIMED_OUT ? errors.actionTimedOut(task.label, timeoutMs) : errors.actorRestarted());
      return;
    }
    if (failed && failure === TIMED_OUT) {
      this.running--;
      metrics?.timeout.inc();
      this.record(task, startedAt, durationMs, "timeout", "action_timed_out");
      host.log.warn({ task: task.label, timeoutMs }, "turn timed out; restarting the actor from its last committed state");
      task.reject(errors.actionTimedOut(task.label, timeoutMs));
      if (task.fateOnTimeout && task.finalWrites) this.commitFate(task, errors.actionTimedOut(task.label, timeoutMs));
      host.timedOut();
      return;
    }

    let barrier: Promise<void> | undefined;
    let sqlDurable = false;
    if (!failed) {
      try {
        if (task.finalWrites) this.inTurn(turn, () => task.finalWrites!(host, true, value, undefined));
        if (host.turnDb?.inTransaction) {
          await host.output.commitSqlTurn(turn);
          sqlDurable = true;
        } else barrier = host.output.commitPoint(turn);
      } catch (err) {
        failed = true;
        failure = err;
      }
    }
    this.running--;
    this.leave(turn);
    // The SQL commit may have waited: the instance may have been abandoned meanwhile.
    if (host.gone) {
      // A turn whose SQL committed is durable whatever happened since: its caller hears so.
      if (sqlDurable) task.resolve(value);
      else task.reject(errors.actorRestarted());
      return;
    }
    if (failed) {
      host.turnDb?.rollback();
      host.output.undo(turn);
      host.restoreState();
      const isUser = failure instanceof UserError;
      if (task.action) (isUser ? metrics?.user_error : metrics?.error)?.inc();
      this.record(task, startedAt, durationMs, isUser ? "user_error" : "error", failure instanceof TroupeError ? failure.code : "internal_error");
      if (!(failure instanceof TroupeError)) host.log.error({ err: failure, task: task.label }, "actor code threw");
      else if (!isUser) host.log.warn({ code: failure.code, task: task.label }, failure.message);
      let failedBarrier = host.output.barrier;
      if (task.finalWrites) {
        const fate = newTurn(false);
        this.inTurn(fate, () => task.finalWrites!(host, false, undefined, failure));
        this.leave(fate);
        failedBarrier = host.output.commitPoint(fate);
      }
      // Logged above; the caller sees internal_error for anything that is not a typed error.
      const publicFailure = failure instanceof TroupeError ? failure : errors.internal();
      host.output.gate(failedBarrier, () => task.reject(publicFailure), task.reject);
    } else {
      task.ran?.();
      const outbox = turn.outbox;
      if (outbox.length > 0) host.output.gate(barrier, () => outbox.forEach((send) => send()), () => {});
      // The outcome is known only once the commit is: a failed commit makes the call an error.
      host.output.gate(
        barrier,
        () => {
          metrics?.ok.inc();
          this.record(task, startedAt, durationMs, "ok");
          task.resolve(value);
        },
        (err) => {
          metrics?.error.inc();
          this.record(task, startedAt, durationMs, "error", err instanceof TroupeError ? err.code : "internal_error");
          task.reject(err);
        },
      );
    }
    host.afterTurn();
  }

  /**
   * Commits a timed-out task's fate on its own (a queue message's attempt count), as the last
   * barrier of this instance: the fresh one loads the message only after it is durable, so a
   * handler that always hangs ends as a dead letter instead of being retried forever.
   */
  private commitFate(task: Task, error: TroupeError): void {
    const fate = newTurn(false);
    this.inTurn(fate, () => task.finalWrites!(this.host, false, undefined, error));
    this.leave(fate);
    if (fate.writes.length === 0) return;
    this.host.output.commitAlone(fate.writes, fate.settle, (err) => this.host.log.error({ err }, "could not record a timed-out queue attempt"));
  }
}
