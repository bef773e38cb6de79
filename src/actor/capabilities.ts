import { errors } from "../common/errors.js";
import type { StorageDriver } from "../storage/driver.js";
import type { StoredAlarm, StoreWrite } from "../storage/types.js";
import type { ActorType } from "./actor-type.js";
import { ActorKv, type KvHost, type KvOp } from "./kv.js";
import type { KvOpMetrics } from "./metrics-port.js";
import type { OutputGate } from "./output-gate.js";
import { ActorSchedule, type ScheduleHost } from "./schedule.js";
import { ActorSql } from "./sql.js";
import type { TurnDatabase } from "./sql-turn.js";
import type { TaskTarget } from "./task.js";
import type { Turn } from "./turn.js";

/** What the capabilities need from their instance. */
export interface CapabilitiesHost {
  readonly id: string;
  readonly type: ActorType;
  readonly storage: Pick<StorageDriver, "kvGet" | "kvList">;
  readonly output: OutputGate;
  /** The actor's SQL database, when its type declares one. */
  readonly turnDb: TurnDatabase | undefined;
  /** The staging buffer of the code running now. */
  currentTurn(): Turn;
  /** Committed alarms of the actor, from the registry-wide scheduler. */
  alarmsOf(): StoredAlarm[];
}

/**
 * `c.kv`, `c.schedule` and `c.db`, made on first use, and the staging they write through: every
 * write lands in the current turn, to commit with it or be rolled back with it.
 */
export class Capabilities implements KvHost, ScheduleHost, TaskTarget {
  private _kv: ActorKv | undefined;
  private _sql: ActorSql | undefined;
  private _schedule: ActorSchedule | undefined;

  constructor(private readonly host: CapabilitiesHost) {}

  get id(): string {
    return this.host.id;
  }

  get storage(): Pick<StorageDriver, "kvGet" | "kvList"> {
    return this.host.storage;
  }

  get kv(): ActorKv {
    return (this._kv ??= new ActorKv(this));
  }

  get kvMetrics(): ((op: KvOp) => KvOpMetrics) | undefined {
    return this.host.type.metrics?.kv;
  }

  /** KV writes staged and not yet known durable (hex key -> value, null = deleted). */
  get kvOverlay(): ReadonlyMap<string, Uint8Array | null> | undefined {
    return this.host.output.kvOverlay;
  }

  get schedule(): ActorSchedule {
    return (this._schedule ??= new ActorSchedule(this));
  }

  get name(): string {
    return this.host.type.name;
  }

  hasAction(name: string): boolean {
    return this.host.type.actions.has(name);
  }

  /** Alarm changes staged and not yet known durable. */
  get stagedAlarms(): ReadonlyMap<string, StoredAlarm | null> | undefined {
    return this.host.output.stagedAlarms;
  }

  committedAlarms(): StoredAlarm[] {
    return this.host.alarmsOf();
  }

  get db(): ActorSql {
    const { host } = this;
    // Told where the mistake is made, not at the first statement.
    if (!host.type.config.db) throw errors.sqlUnavailable("undeclared");
    return (this._sql ??= new ActorSql({
      database: () => {
        // Concurrent turns cannot each have their own transaction on one connection.
        if (host.type.options.reentrant) throw errors.sqlUnavailable("reentrant");
        return host.turnDb!.forStatement();
      },
      sqlMetrics: host.type.metrics?.sql,
    }));
  }

  /** Stages a write with the current turn; `overlayKey` also makes a KV write visible to reads. */
  stage(write: StoreWrite, overlayKey?: string, overlayValue?: Uint8Array | null): void {
    this.host.output.stage(this.host.currentTurn(), write, overlayKey, overlayValue);
  }

  /** Stages an alarm, or with null its cancellation; the scheduler hears once it is durable. */
  stageAlarm(id: string, alarm: StoredAlarm | null): void {
    this.host.output.stageAlarm(this.host.currentTurn(), id, alarm);
  }

  /** True while an alarm is neither cancelled by a staged turn nor gone from the clock. */
  alarmPending(id: string): boolean {
    const staged = this.host.output.stagedAlarms;
    if (staged?.has(id)) return staged.get(id) !== null;
    return this.host.alarmsOf().some((a) => a.id === id);
  }
}
