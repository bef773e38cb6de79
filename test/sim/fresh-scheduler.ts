import fc from "fast-check";

/**
 * `fc.scheduler()`, except that every run of a generated value orders tasks from the same start.
 *
 * fast-check (4.10) gives every clone of one generated scheduler a single shared random stream,
 * and it hands a clone to each run after the first: to each shrink candidate, which all carry the
 * failing schedule's scheduler. A candidate's interleaving then depended on how many tasks the
 * candidates before it had ordered, so a path shrunk in one process failed there and passed when
 * replayed alone. Here each clone is a new scheduler built from the generation's random state, so
 * a schedule's interleaving is a function of its seed and path only.
 *
 * The first run of a value orders tasks exactly as `fc.scheduler()` does, and generating consumes
 * nothing from the seed's stream either: seeds explore, and recorded paths replay, the same
 * schedules as before.
 */
class FreshScheduler extends fc.Arbitrary<fc.Scheduler> {
  private readonly inner = fc.scheduler();

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<fc.Scheduler> {
    // The inner generate clones what it is given and leaves it as it was: each call starts alike.
    const start = mrng.clone();
    const make = (): fc.Scheduler => {
      const s = this.inner.generate(start, biasFactor).value_;
      Object.defineProperty(s, fc.cloneMethod, { value: make, configurable: true, writable: true });
      return s;
    };
    return new fc.Value(make(), undefined);
  }

  canShrinkWithoutContext(_value: unknown): _value is fc.Scheduler {
    return false;
  }

  shrink(): fc.Stream<fc.Value<fc.Scheduler>> {
    return fc.Stream.nil();
  }
}

export const freshScheduler = (): fc.Arbitrary<fc.Scheduler> => new FreshScheduler();
