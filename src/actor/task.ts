import type { Logger } from "pino";
import type { GroupCommitter } from "../storage/group-commit.js";
import type { StorageDriver } from "../storage/driver.js";
import type { StoredAlarm } from "../storage/types.js";
import type { ActionContext } from "./context.js";
import type { Conn } from "./conn.js";
import type { ActionMetrics, StopReason } from "./metrics-port.js";
import type { MessageOutcome } from "./queue.js";

/** What a task may do to the instance it runs on (after a crash, that is a fresh one). */
export interface TaskTarget {
  /** True while an alarm is neither cancelled by a staged turn nor gone from the clock. */
  alarmPending(id: string): boolean;
  /** Stages an alarm, or with null its cancellation. */
  stageAlarm(id: string, alarm: StoredAlarm | null): void;
}

/** One unit of work in the actor's inbox. `run` takes the instance so a task can move to a fresh one. */
export interface Task {
  label: string;
  run(target: TaskTarget, ctx: ActionContext<any, any, any, any>): unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  /** Set for actions: the per-action metrics and the call log. */
  action?: { metrics: ActionMetrics | undefined } | undefined;
  /** Tasks from a connection die with it; stateless tasks can be retried on a fresh instance. */
  conn?: Conn | undefined;
  /** Internal tasks (hooks while stopping) are accepted after new work is refused. */
  internal?: boolean;
  /** Stages writes with the task whatever its outcome (an alarm's deletion, a message's fate). */
  finalWrites?: (target: TaskTarget, ok: boolean, output: unknown, error: unknown) => void;
  /** Never move to a fresh instance after a crash (the fresh one reloads the work itself). */
  noRequeue?: boolean;
  /** Actors whose turns wait on this task through `c.client()`, outermost first. */
  chain?: readonly string[];
  /** A timeout is one failed attempt: its fate (a queue retry) commits before the restart. */
  fateOnTimeout?: boolean;
  /** A caller waits for it (an action, a raw request): it counts against `maxQueuedCalls`. */
  fromCaller?: boolean;
  /**
   * Called once the turn ran without error and its commit is queued, before that commit is
   * durable: later tasks would run after it, and their replies wait for its commit.
   */
  ran?: () => void;
}

/** What an instance needs from the runtime that hosts it. */
export interface InstanceHost {
  readonly committer: GroupCommitter;
  readonly storage: StorageDriver;
  readonly logger: Logger;
  /** `c.client()` for a turn: `chain` lists the actors whose turns wait on it, for the cycle check. */
  clientFor(chain: readonly string[]): unknown;
  /** A queue message reached its end; a sender may be waiting for it. */
  messageSettled(seq: number, outcome: MessageOutcome): void;
  /** Committed alarms of an actor, from the registry-wide scheduler. */
  alarmsOf(actorId: string): StoredAlarm[];
  /** Alarm changes of one commit are durable: arm or disarm them. */
  alarmsCommitted(changes: ReadonlyArray<[string, StoredAlarm | null]>): void;
  /** The instance wants to stop (idle, c.sleep, c.destroy); the runtime unloads it. */
  stopRequested(instance: HostedInstance, reason: "sleep" | "destroy"): void;
  /** The instance was abandoned; calls that never started run again on a fresh instance. */
  crashed(instance: HostedInstance, pending: Task[], settled: Promise<void>): void;
}

/** The instance as its host's callbacks name it (the host knows the class; this file may not). */
export interface HostedInstance {
  readonly id: string;
}

export type { StopReason };
