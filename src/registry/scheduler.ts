import type { Logger } from "pino";
import type { ActorInstance } from "../actor/instance.js";
import type { ActorTypeMetrics } from "../actor/metrics-port.js";
import { TroupeError } from "../common/errors.js";
import type { StoredAlarm } from "../storage/types.js";

export interface SchedulerHost {
  instance(actorId: string): Promise<ActorInstance>;
  metricsOf(actorName: string): ActorTypeMetrics | undefined;
  readonly logger: Logger;
}

/** Longest delay setTimeout takes; later alarms re-arm when it fires. */
const MAX_DELAY = 2 ** 31 - 1;
/** How long a firing that could not complete (timeout, failed commit) waits before retrying. */
const RETRY_MS = 1000;
const LATENESS_SAMPLES = 10_000;

/**
 * The registry-wide alarm clock: every committed alarm, one timer for the soonest. Firing
 * wakes the actor and runs the alarm as a turn; the alarm leaves the clock only once its
 * deletion is durable, so a crash mid-fire fires it again after restart.
 */
export class Scheduler {
  private readonly alarms = new Map<string, StoredAlarm>();
  private readonly byActor = new Map<string, Set<string>>();
  private readonly firing = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  /** How late the most recent alarms started (ms), newest last; at most LATENESS_SAMPLES. */
  readonly lateness: number[] = [];

  constructor(private readonly host: SchedulerHost) {}

  /** Arms the alarms found in the store at startup; those already due fire now. */
  load(alarms: readonly StoredAlarm[]): void {
    for (const a of alarms) this.add(a);
  }

  add(alarm: StoredAlarm): void {
    if (this.alarms.has(alarm.id)) return;
    this.alarms.set(alarm.id, alarm);
    let ids = this.byActor.get(alarm.actorId);
    if (!ids) this.byActor.set(alarm.actorId, (ids = new Set()));
    ids.add(alarm.id);
    this.host.metricsOf(alarm.actorName)?.alarms().pending.inc();
    if (alarm.fireAt < this.timerAt) this.arm();
  }

  remove(id: string): void {
    const alarm = this.alarms.get(id);
    if (!alarm) return;
    this.alarms.delete(id);
    this.firing.delete(id);
    const ids = this.byActor.get(alarm.actorId);
    ids?.delete(id);
    if (ids?.size === 0) this.byActor.delete(alarm.actorId);
    this.host.metricsOf(alarm.actorName)?.alarms().pending.dec();
  }

  /** The actor was destroyed: its alarms are gone from the store already. */
  removeActor(actorId: string): void {
    for (const id of [...(this.byActor.get(actorId) ?? [])]) this.remove(id);
  }

  alarmsOf(actorId: string): StoredAlarm[] {
    return [...(this.byActor.get(actorId) ?? [])].map((id) => this.alarms.get(id)!);
  }

  get pendingCount(): number {
    return this.alarms.size;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    let soonest = Number.POSITIVE_INFINITY;
    for (const a of this.alarms.values()) if (!this.firing.has(a.id) && a.fireAt < soonest) soonest = a.fireAt;
    this.timerAt = soonest;
    if (soonest === Number.POSITIVE_INFINITY) {
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(() => this.fireDue(), Math.min(MAX_DELAY, Math.max(0, soonest - Date.now())));
    this.timer.unref();
  }

  private fireDue(): void {
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (const alarm of this.alarms.values()) {
      if (alarm.fireAt > now || this.firing.has(alarm.id)) continue;
      this.firing.add(alarm.id);
      void this.fire(alarm);
    }
    this.arm();
  }

  private async fire(alarm: StoredAlarm): Promise<void> {
    const metrics = this.host.metricsOf(alarm.actorName)?.alarms();
    try {
      const inst = await this.host.instance(alarm.actorId);
      const outcome = await inst.runAlarm(alarm, () => {
        const late = Math.max(0, performance.timeOrigin + performance.now() - alarm.fireAt);
        metrics?.lateness.observe(late / 1000);
        this.lateness.push(late);
        if (this.lateness.length > LATENESS_SAMPLES) this.lateness.splice(0, this.lateness.length - LATENESS_SAMPLES);
      });
      metrics?.fired[outcome].inc();
      // The deletion committed with the turn; alarmsCommitted already removed it.
    } catch (err) {
      if (err instanceof TroupeError && err.group === "actor" && err.code === "not_found") {
        this.remove(alarm.id);
        return;
      }
      if (this.stopped) return;
      this.host.logger.warn({ err, alarmId: alarm.id, actorId: alarm.actorId }, "alarm could not run; retrying");
      setTimeout(() => {
        this.firing.delete(alarm.id);
        this.arm();
      }, RETRY_MS).unref();
    }
  }
}
