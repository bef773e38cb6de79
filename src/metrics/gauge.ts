import { Family, type FamilyOptions, type OverflowListener } from "./family.js";

export class GaugeHandle {
  value = 0;

  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

export class Gauge extends Family<GaugeHandle> {
  readonly type = "gauge" as const;

  constructor(opts: FamilyOptions, maxSeries: number, onOverflow: OverflowListener) {
    if (/_count$|_total$/.test(opts.name)) throw new Error(`Gauge "${opts.name}" must not end with _count or _total`);
    super(opts, maxSeries, onOverflow);
  }

  protected createHandle(): GaugeHandle {
    return new GaugeHandle();
  }

  set(v: number): void {
    this.labels().set(v);
  }
  inc(n = 1): void {
    this.labels().inc(n);
  }
  dec(n = 1): void {
    this.labels().dec(n);
  }
}
