import { idleNow, type IdleBucket, type IdleClock, type IdleSleeper } from "./idle-clock.js";
import type { StopReason } from "./metrics-port.js";

export type Status = "ready" | "stopping" | "stopped" | "crashed";

/** What the lifecycle needs from its instance. */
export interface LifecycleHost {
  /** The type's sleep timeout, and the clock its instances' idle sleeps share. */
  readonly type: { readonly options: { readonly sleepTimeoutMs: number }; readonly idleClock: IdleClock };
  /** Nothing runs, waits or is connected: the instance may sleep. */
  readonly idle: boolean;
  /** No task is queued or running. */
  readonly quiet: boolean;
  /** Turns running now. */
  readonly turnsRunning: number;
  /** The instance wants to stop; its host unloads it. */
  askToStop(reason: "sleep" | "destroy"): void;
}

/**
 * An instance's status and the decisions about its end: sleeping when idle, stopping when its
 * code asks, draining before an unload, and the signal that it is gone.
 */
export class Lifecycle implements IdleSleeper {
  status: Status = "ready";
  /** Why the instance is stopping; decides what a refused call is told. */
  stopReason: Exclude<StopReason, "crash"> | undefined;
  /** True once abandoned (timeout or failed commit), even after it is stopped. */
  abandoned = false;
  private wantSleep = false;
  private wantDestroy = false;
  /** idleNow() at the last activity; the idle deadline counts from it. */
  private lastActivity = idleNow();
  /** Where the shared idle clock holds this instance while its sleep is armed. */
  private idleBucket: IdleBucket | undefined;
  // Made when first needed: most instances are never drained while busy, and nobody waits on most stops.
  private drainWaiters: Array<() => void> | undefined;
  /** The stopped signal; true once it resolved. */
  private signal: { promise: Promise<void>; resolve: () => void } | true | undefined;

  constructor(private readonly host: LifecycleHost) {}

  /** Live or stopping: tasks may still run. */
  get running(): boolean {
    return this.status === "ready" || this.status === "stopping";
  }

  /** Abandoned or stopped: nothing this instance does counts any more. */
  get gone(): boolean {
    return this.status === "crashed" || this.status === "stopped";
  }

  get stopped(): Promise<void> {
    if (this.signal === true) return Promise.resolve();
    if (!this.signal) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.signal = { promise, resolve };
    }
    return this.signal.promise;
  }

  requestSleep(after: () => void): void {
    this.wantSleep = true;
    if (this.host.turnsRunning === 0) queueMicrotask(after);
  }

  requestDestroy(after: () => void): void {
    this.wantDestroy = true;
    if (this.host.turnsRunning === 0) queueMicrotask(after);
  }

  /**
   * After a turn (or a connection leaving): releases drain waiters, and on a live instance
   * decides whether it stops now. Returns true when it asked its host to stop.
   */
  afterTurn(): boolean {
    this.lastActivity = idleNow();
    if (this.drainWaiters && this.host.quiet) this.releaseDrainWaiters();
    if (this.status !== "ready") return false;
    if (this.wantDestroy && this.host.turnsRunning === 0) {
      this.wantDestroy = false;
      this.host.askToStop("destroy");
      return true;
    }
    if (this.wantSleep && this.host.quiet) {
      this.wantSleep = false;
      this.host.askToStop("sleep");
      return true;
    }
    return false;
  }

  /** The instance is live, or just did something: count idle time from now. */
  touch(): void {
    this.lastActivity = idleNow();
    if (this.status === "ready" && this.host.idle) this.armSleepTimer();
  }

  armSleepTimer(): void {
    if (this.idleBucket) return;
    const { options, idleClock } = this.host.type;
    this.idleBucket = idleClock.arm(this, this.lastActivity + options.sleepTimeoutMs);
  }

  /** @internal The idle clock: the deadline this instance was armed with has passed. */
  idleDue(): void {
    this.idleBucket = undefined;
    if (this.status !== "ready" || !this.host.idle) return;
    // Activity since the timer was armed moved the deadline: arm again, lazily, instead of on every turn.
    const { options, idleClock } = this.host.type;
    if (performance.now() - this.lastActivity >= options.sleepTimeoutMs) this.host.askToStop("sleep");
    else this.idleBucket = idleClock.arm(this, this.lastActivity + options.sleepTimeoutMs);
  }

  /** Refuses new work from now on. */
  beginStop(reason: Exclude<StopReason, "crash">): void {
    this.status = "stopping";
    this.stopReason = reason;
    this.clearTimer();
  }

  /** Marks the instance abandoned; false if it already was, or is stopped. */
  abandon(): boolean {
    if (this.gone) return false;
    this.status = "crashed";
    this.abandoned = true;
    this.clearTimer();
    this.releaseDrainWaiters();
    return true;
  }

  /** Resolves when no task is queued or running (or the instance was abandoned). */
  drain(): Promise<void> {
    if (this.host.quiet || this.status === "crashed") return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** Fully unloaded: returns false if it already was. */
  markStopped(): boolean {
    if (this.status === "stopped") return false;
    this.status = "stopped";
    this.resolveStopped();
    return true;
  }

  /** An abandoned instance is gone once its last commits settled. */
  resolveStopped(): void {
    if (this.signal === true) return;
    this.signal?.resolve();
    this.signal = true;
  }

  private clearTimer(): void {
    if (!this.idleBucket) return;
    this.host.type.idleClock.cancel(this.idleBucket, this);
    this.idleBucket = undefined;
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    if (waiters) for (const w of waiters) w();
  }
}
