import { checkLabelNames, checkMetricName, MetricDefinitionError } from "./format.js";

export type MetricType = "counter" | "gauge" | "histogram";

export const OVERFLOW = "__overflow__";

export interface FamilyOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** Base unit (e.g. "seconds", "bytes"); the name must end with it. Emitted as `# UNIT` in OpenMetrics. */
  unit?: string;
}

/** One series; `prefixes` caches its rendered sample-name-and-labels strings. */
export interface Series<H> {
  values: readonly string[];
  handle: H;
  prefixes?: string[];
}

/** Told when a family folds a new series into its overflow series. */
export type OverflowListener = (family: Family<unknown>) => void;

/**
 * A metric family: a fixed label schema and at most `maxSeries` series. `labels()` binds
 * values once and returns a handle, so the hot path never hashes or allocates.
 */
export abstract class Family<H> {
  readonly name: string;
  readonly help: string;
  readonly unit: string | undefined;
  readonly labelNames: readonly string[];
  abstract readonly type: MetricType;
  /** Series in creation order (stable exposition order). */
  readonly series = new Map<string, Series<H>>();
  private overflowHandle: H | undefined;

  constructor(
    opts: FamilyOptions,
    private readonly maxSeries: number,
    private readonly onOverflow: OverflowListener,
    reservedLabels: readonly string[] = [],
  ) {
    checkMetricName(opts.name);
    checkLabelNames(opts.name, opts.labelNames ?? [], reservedLabels);
    if (opts.unit !== undefined) {
      if (!/^[a-z_]+$/.test(opts.unit)) throw new MetricDefinitionError(`Metric "${opts.name}": invalid unit "${opts.unit}"`);
      const base = opts.name.replace(/_total$/, "");
      if (!base.endsWith(`_${opts.unit}`)) throw new MetricDefinitionError(`Metric "${opts.name}": the name must end with its unit "_${opts.unit}"`);
    }
    if (!opts.help) throw new MetricDefinitionError(`Metric "${opts.name}": help text is required`);
    this.name = opts.name;
    this.help = opts.help;
    this.unit = opts.unit;
    this.labelNames = [...(opts.labelNames ?? [])];
  }

  protected abstract createHandle(values: readonly string[]): H;

  /** Binds label values (in declared order) and returns the series' handle. */
  labels(...values: string[]): H {
    if (values.length !== this.labelNames.length) {
      throw new MetricDefinitionError(`Metric "${this.name}" takes ${this.labelNames.length} label values (${this.labelNames.join(", ")}), got ${values.length}`);
    }
    const key = values.length === 1 ? values[0]! : values.join("\u0000");
    const existing = this.series.get(key);
    if (existing) return existing.handle;
    if (this.series.size >= this.maxSeries) return this.overflow();
    const strings = values.map(String);
    const handle = this.createHandle(strings);
    this.series.set(key, { values: strings, handle });
    return handle;
  }

  private overflow(): H {
    this.onOverflow(this as Family<unknown>);
    if (!this.overflowHandle) {
      const values = this.labelNames.map(() => OVERFLOW);
      this.overflowHandle = this.createHandle(values);
      this.series.set("\u0001overflow", { values, handle: this.overflowHandle });
    }
    return this.overflowHandle;
  }
}
