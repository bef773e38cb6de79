import { randomBytes } from "node:crypto";
import { errors } from "../common/errors.js";
import type { StoredAlarm } from "../storage/types.js";
import { assertStorable, cbor } from "./state-codec.js";

export interface ScheduledAlarm {
  id: string;
  /** When it fires, in ms since the epoch. */
  at: number;
  action: string;
  args: unknown[];
}

/** What the schedule needs from its instance and from the registry-wide scheduler. */
export interface ScheduleHost {
  readonly id: string;
  readonly name: string;
  hasAction(name: string): boolean;
  /** Stages an alarm (or, with null, its cancellation) with the current turn. */
  stageAlarm(id: string, alarm: StoredAlarm | null): void;
  /** Alarms staged and not yet known durable (id -> alarm, or null for a cancel); undefined before the first. */
  readonly stagedAlarms: ReadonlyMap<string, StoredAlarm | null> | undefined;
  /** Committed alarms of this actor. */
  committedAlarms(): StoredAlarm[];
}

/** Latest timestamp setTimeout and SQLite both handle comfortably (year 2286). */
const MAX_AT = 9_999_999_999_999;

/**
 * `c.schedule`: durable alarms that call one of the actor's actions later. Scheduling and
 * cancelling commit with the current turn; an alarm wakes a sleeping actor; alarms missed
 * while the process was down fire after restart, once.
 */
export class ActorSchedule {
  constructor(private readonly host: ScheduleHost) {}

  after(ms: number, action: string, ...args: unknown[]): string {
    if (!Number.isFinite(ms) || ms < 0) throw scheduleError("`ms` must be a non-negative number of milliseconds");
    return this.at(Date.now() + ms, action, ...args);
  }

  at(timestampMs: number, action: string, ...args: unknown[]): string {
    if (!Number.isFinite(timestampMs) || timestampMs < 0 || timestampMs > MAX_AT) throw scheduleError("`timestampMs` must be a time in ms since the epoch");
    if (typeof action !== "string" || !this.host.hasAction(action)) throw errors.actionNotFound(this.host.name, String(action));
    assertStorable(args, "args");
    const alarm: StoredAlarm = { id: randomBytes(9).toString("base64url"), actorId: this.host.id, actorName: this.host.name, fireAt: Math.round(timestampMs), action, args: cbor.encode(args) };
    this.host.stageAlarm(alarm.id, alarm);
    return alarm.id;
  }

  /** Cancels a pending alarm; false if there was none with that id. */
  cancel(id: string): boolean {
    const staged = this.host.stagedAlarms;
    const exists = staged?.has(id) ? staged.get(id) !== null : this.host.committedAlarms().some((a) => a.id === id);
    if (!exists) return false;
    this.host.stageAlarm(id, null);
    return true;
  }

  /** Pending alarms, soonest first. */
  list(): ScheduledAlarm[] {
    const all = new Map(this.host.committedAlarms().map((a) => [a.id, a]));
    for (const [id, a] of this.host.stagedAlarms ?? []) {
      if (a === null) all.delete(id);
      else all.set(id, a);
    }
    return [...all.values()].sort((a, b) => a.fireAt - b.fireAt).map((a) => ({ id: a.id, at: a.fireAt, action: a.action, args: cbor.decode(a.args) as unknown[] }));
  }
}

function scheduleError(message: string) {
  return errors.invalidSchedule(message);
}
