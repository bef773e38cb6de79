import { declareActorMetrics, MetricsRegistry } from "../src/metrics/index.js";
import { median, nsPerOp } from "./stats.js";

/**
 * The metric updates one action makes on its way through the runtime (look up its handles,
 * inbox in and out, outcome, duration, and its share of a state commit), timed in a loop:
 * nanoseconds per action. A cross-check for the end-to-end on/off figure, whose run-to-run
 * noise on a shared machine is larger than the 3% it is meant to resolve.
 */
export function instrumentationNsPerAction(iterations = 2_000_000, rounds = 7): number {
  const type = declareActorMetrics(new MetricsRegistry()).forActorType("counter", ["increment", "get"]);
  const names = ["increment", "get"];
  const action = (n: number) => {
    for (let i = 0; i < n; i++) {
      const m = type.actions.get(names[i & 1]!)!;
      type.inboxDepth.inc();
      type.inboxDepth.dec();
      m.duration.observe(0.00012);
      m.ok.inc();
      type.stateCommits.inc();
      type.stateCommitDuration.observe(0.0002);
      type.stateBytes.observe(96);
    }
  };
  return median(Array.from({ length: rounds }, () => nsPerOp(action, iterations)));
}
