import { Family, type FamilyOptions, type OverflowListener } from "./family.js";

/**
 * Latency buckets in seconds, from 100 µs to 10 s: twelve, dense where actor work lives
 * (sub-millisecond to tens of milliseconds), because every bucket is a line per series.
 */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10] as const;
/**
 * Storage-operation buckets in seconds, from 10 µs to 1 s: KV reads and SQL statements run
 * in-process, where the interesting differences are in microseconds.
 */
export const STORAGE_BUCKETS = [0.00001, 0.000025, 0.0001, 0.00025, 0.001, 0.0025, 0.01, 0.1, 1] as const;
/**
 * Delay buckets in seconds, from 1 ms to 5 min: queue waits and alarm lateness, which are
 * milliseconds when healthy and minutes after a backlog or a restart.
 */
export const DELAY_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 300] as const;
/** Size buckets in bytes, from 64 B to 4 MiB. */
export const BYTE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] as const;

/** A bound histogram series: per-bucket counts (not cumulative) plus sum and count. */
export class HistogramHandle {
  /** counts[i] = observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    const n = b.length;
    while (i < n && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export interface HistogramOptions extends FamilyOptions {
  buckets?: readonly number[];
}

export class Histogram extends Family<HistogramHandle> {
  readonly type = "histogram" as const;
  readonly bounds: Float64Array;

  constructor(opts: HistogramOptions, maxSeries: number, onOverflow: OverflowListener) {
    super(opts, maxSeries, onOverflow, ["le"]);
    const buckets = [...(opts.buckets ?? LATENCY_BUCKETS)].filter((b) => b !== Number.POSITIVE_INFINITY);
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]!) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) {
        throw new Error(`Histogram "${opts.name}": buckets must be finite and strictly increasing`);
      }
    }
    this.bounds = Float64Array.from(buckets);
  }

  protected createHandle(): HistogramHandle {
    return new HistogramHandle(this.bounds);
  }

  observe(v: number): void {
    this.labels().observe(v);
  }
}
