import { constants, PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import type { MetricsRegistry } from "./registry.js";

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

/**
 * The process and Node.js metrics prom-client users already graph, under the same names.
 * Values are read at scrape time, except GC pauses, which a PerformanceObserver reports as
 * they happen. Nothing polls on a timer. Returns a function that stops the GC observer.
 */
export function registerNodeRuntimeMetrics(registry: MetricsRegistry): () => void {
  const cpu = registry.counter({ name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", unit: "seconds" }).labels();
  const rss = registry.gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", unit: "bytes" }).labels();
  const start = registry.gauge({ name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.", unit: "seconds" }).labels();
  const lag = registry.gauge({
    name: "nodejs_eventloop_lag_seconds",
    help: "Lag of event loop in seconds: the delay of a setImmediate scheduled at scrape time.",
    unit: "seconds",
  }).labels();
  const heapUsed = registry.gauge({ name: "nodejs_heap_size_used_bytes", help: "Process heap size used from Node.js in bytes.", unit: "bytes" }).labels();
  const gc = registry.histogram({
    name: "nodejs_gc_duration_seconds",
    help: "Garbage collection duration by kind, one of major, minor, incremental or weakcb.",
    labelNames: ["kind"],
    unit: "seconds",
    buckets: [0.001, 0.01, 0.1, 1, 2, 5],
  });
  const gcHandles = new Map(Object.entries(GC_KINDS).map(([code, kind]) => [Number(code), gc.labels(kind)]));

  start.set(Math.round(performance.timeOrigin) / 1000);
  registry.registerCollector(async () => {
    const u = process.cpuUsage();
    cpu.value = (u.user + u.system) / 1e6;
    rss.set(process.memoryUsage.rss());
    heapUsed.set(v8.getHeapStatistics().used_heap_size);
    const t = performance.now();
    await new Promise<void>((r) => setImmediate(r));
    lag.set((performance.now() - t) / 1000);
  });

  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      const h = kind === undefined ? undefined : gcHandles.get(kind);
      h?.observe(entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}

/** `troupe_build_info{version, mode}` = 1. */
export function registerBuildInfo(registry: MetricsRegistry, info: { version: string; mode: string }): void {
  registry.gauge({ name: "troupe_build_info", help: "Troupe's version and mode; the value is always 1.", labelNames: ["version", "mode"] }).labels(info.version, info.mode).set(1);
}
