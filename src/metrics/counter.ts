import { Family, type FamilyOptions, type OverflowListener } from "./family.js";

/** A bound counter series. `value` is read by the renderer; only `inc` should write it. */
export class CounterHandle {
  value = 0;

  inc(n = 1): void {
    if (!(n >= 0)) throw new RangeError(`Counter increments must be non-negative numbers, got ${n}`);
    this.value += n;
  }
}

export class Counter extends Family<CounterHandle> {
  readonly type = "counter" as const;

  constructor(opts: FamilyOptions, maxSeries: number, onOverflow: OverflowListener) {
    if (!opts.name.endsWith("_total")) throw new Error(`Counter "${opts.name}" must end with _total`);
    super(opts, maxSeries, onOverflow);
  }

  protected createHandle(): CounterHandle {
    return new CounterHandle();
  }

  /** For a family without labels. */
  inc(n = 1): void {
    this.labels().inc(n);
  }
}
