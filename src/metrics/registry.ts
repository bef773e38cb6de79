import { Counter } from "./counter.js";
import { MetricDefinitionError } from "./format.js";
import type { FamilyOptions } from "./family.js";
import { Gauge } from "./gauge.js";
import { Histogram, type HistogramOptions } from "./histogram.js";
import { renderPromClientMetric, type PromClientRegistryLike } from "./prom-client-merge.js";
import { renderFamily, type AnyFamily, type Format } from "./render.js";

export interface MetricsLogger {
  warn(obj: object, msg: string): void;
}

export interface MetricsRegistryOptions {
  /** Most series one family may hold before new label values fold into `__overflow__`. Default 2,000. */
  maxSeriesPerFamily?: number;
  logger?: MetricsLogger;
}

/** Holds metric families and renders them; the engine behind `/metrics`. */
export class MetricsRegistry {
  readonly maxSeriesPerFamily: number;
  private readonly families = new Map<string, AnyFamily>();
  private readonly collectors: Array<() => void | Promise<void>> = [];
  private readonly promClients: PromClientRegistryLike[] = [];
  private readonly warnedOverflow = new Set<string>();
  private readonly warnedDuplicate = new Set<string>();
  private readonly logger: MetricsLogger | undefined;
  /** `troupe_metrics_series_overflow_total{metric}`: one series per family at most. */
  private readonly overflowCounter: Counter;

  constructor(opts: MetricsRegistryOptions = {}) {
    this.maxSeriesPerFamily = opts.maxSeriesPerFamily ?? 2000;
    if (!Number.isInteger(this.maxSeriesPerFamily) || this.maxSeriesPerFamily < 1) throw new RangeError("maxSeriesPerFamily must be a positive integer");
    this.logger = opts.logger;
    this.overflowCounter = this.add(
      new Counter(
        { name: "troupe_metrics_series_overflow_total", help: "Label value sets folded into a family's __overflow__ series because the family reached its series limit.", labelNames: ["metric"] },
        Number.MAX_SAFE_INTEGER,
        () => {},
      ),
    );
  }

  counter(opts: FamilyOptions): Counter {
    return this.add(new Counter(opts, this.maxSeriesPerFamily, this.onOverflow));
  }

  gauge(opts: FamilyOptions): Gauge {
    return this.add(new Gauge(opts, this.maxSeriesPerFamily, this.onOverflow));
  }

  histogram(opts: HistogramOptions): Histogram {
    return this.add(new Histogram(opts, this.maxSeriesPerFamily, this.onOverflow));
  }

  /** Runs before every render, for values read at scrape time. */
  registerCollector(fn: () => void | Promise<void>): void {
    this.collectors.push(fn);
  }

  /** Appends a prom-client registry's metrics to every render; a name clash is an error now. */
  async mergePromClient(registry: PromClientRegistryLike): Promise<void> {
    for (const m of await registry.getMetricsAsJSON()) {
      if (this.clashes(m.name)) throw new MetricDefinitionError(`prom-client metric "${m.name}" collides with a Troupe metric of the same name`);
    }
    this.promClients.push(registry);
  }

  get(name: string): AnyFamily | undefined {
    return this.families.get(name);
  }

  /** The names of Troupe's own families, sorted: plain data for catalogs and tests. */
  familyNames(): string[] {
    return [...this.families.keys()].sort();
  }

  /** Number of series across Troupe's own families (histograms count once per label set). */
  seriesCount(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.series.size;
    return n;
  }

  async render(format: Format = "prometheus"): Promise<string> {
    for (const c of this.collectors) await c();
    const out: string[] = [];
    const names = [...this.families.keys()].sort();
    for (const name of names) renderFamily(this.families.get(name)!, format, out);
    for (const reg of this.promClients) {
      for (const m of await reg.getMetricsAsJSON()) {
        if (this.clashes(m.name)) {
          if (!this.warnedDuplicate.has(m.name)) {
            this.warnedDuplicate.add(m.name);
            this.logger?.warn({ metric: m.name }, "skipping a prom-client metric whose name collides with a Troupe metric");
          }
          continue;
        }
        renderPromClientMetric(m, format, out);
      }
    }
    if (format === "openmetrics") out.push("# EOF\n");
    return out.join("");
  }

  private clashes(name: string): boolean {
    const stem = name.replace(/_total$/, "");
    return this.families.has(name) || this.families.has(`${stem}_total`) || this.families.has(stem);
  }

  private add<F extends AnyFamily>(family: F): F {
    if (this.clashes(family.name)) throw new MetricDefinitionError(`A metric named "${family.name}" is already registered`);
    this.families.set(family.name, family);
    return family;
  }

  private readonly onOverflow = (family: { name: string }): void => {
    this.overflowCounter.labels(family.name).inc();
    if (!this.warnedOverflow.has(family.name)) {
      this.warnedOverflow.add(family.name);
      this.logger?.warn({ metric: family.name, limit: this.maxSeriesPerFamily }, "metric family reached its series limit; new label values fold into __overflow__");
    }
  };
}
