import type { StopReason } from "./metrics-port.js";

export type Status = "ready" | "stopping" | "stopped" | "crashed";

/** What the lifecycle needs from its instance. */
export interface LifecycleHost {
  readonly sleepTimeoutMs: number;
  /** Nothing runs, waits or is connected: the instance may sleep. */
  idle(): boolean;
  /** No task is queued or running. */
  quiet(): boolean;
  /** Turns running now. */
  busy(): number;
  /** The instance wants to stop; its host unloads it. */
  stop(reason: "sleep" | "destroy"): void;
}

/**
 * An instance's status and the decisions about its end: sleeping when idle, stopping when its
 * code asks, draining before an unload, and the signal that it is gone.
 */
export class Lifecycle {
  status: Status = "ready";
  /** Why the instance is stopping; decides what a refused call is told. */
  stopReason: Exclude<StopReason, "crash"> | undefined;
  /** True once abandoned (timeout or failed commit), even after it is stopped. */
  abandoned = false;
  private wantSleep = false;
  private wantDestroy = false;
  private lastActivity = performance.now();
  private sleepTimer: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];
  private readonly stoppedSignal: { promise: Promise<void>; resolve: () => void };

  constructor(private readonly host: LifecycleHost) {
    let resolve!: () => void;
    this.stoppedSignal = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }

  /** Live or stopping: tasks may still run. */
  get running(): boolean {
    return this.status === "ready" || this.status === "stopping";
  }

  /** Abandoned or stopped: nothing this instance does counts any more. */
  get gone(): boolean {
    return this.status === "crashed" || this.status === "stopped";
  }

  get stopped(): Promise<void> {
    return this.stoppedSignal.promise;
  }

  requestSleep(after: () => void): void {
    this.wantSleep = true;
    if (this.host.busy() === 0) queueMicrotask(after);
  }

  requestDestroy(after: () => void): void {
    this.wantDestroy = true;
    if (this.host.busy() === 0) queueMicrotask(after);
  }

  /**
   * After a turn (or a connection leaving): releases drain waiters, and on a live instance
   * decides whether it stops now. Returns true when it asked its host to stop.
   */
  afterTurn(): boolean {
    this.lastActivity = performance.now();
    if (this.drainWaiters.length > 0 && this.host.quiet()) this.releaseDrainWaiters();
    if (this.status !== "ready") return false;
    if (this.wantDestroy && this.host.busy() === 0) {
      this.wantDestroy = false;
      this.host.stop("destroy");
      return true;
    }
    if (this.wantSleep && this.host.quiet()) {
      this.wantSleep = false;
      this.host.stop("sleep");
      return true;
    }
    return false;
  }

  /** The instance is live, or just did something: count idle time from now. */
  touch(): void {
    this.lastActivity = performance.now();
    if (this.status === "ready" && this.host.idle()) this.armSleepTimer();
  }

  armSleepTimer(): void {
    if (this.sleepTimer) return;
    const timeout = this.host.sleepTimeoutMs;
    const check = (): void => {
      this.sleepTimer = undefined;
      if (this.status !== "ready" || !this.host.idle()) return;
      const remaining = timeout - (performance.now() - this.lastActivity);
      if (remaining <= 0) this.host.stop("sleep");
      else this.sleepTimer = setTimeout(check, remaining).unref();
    };
    this.sleepTimer = setTimeout(check, timeout).unref();
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
    if (this.host.quiet() || this.status === "crashed") return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Fully unloaded: returns false if it already was. */
  markStopped(): boolean {
    if (this.status === "stopped") return false;
    this.status = "stopped";
    this.stoppedSignal.resolve();
    return true;
  }

  /** An abandoned instance is gone once its last commits settled. */
  resolveStopped(): void {
    this.stoppedSignal.resolve();
  }

  private clearTimer(): void {
    clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
