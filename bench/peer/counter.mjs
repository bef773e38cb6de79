// The counter actor both peer scripts serve on RivetKit: the same as bench/fixtures/bench-server.ts.
export function counterActor(actor) {
  return actor({
    state: { count: 0 },
    actions: {
      increment: (c, by = 1) => {
        c.state.count += by;
        c.broadcast("changed", c.state.count);
        return c.state.count;
      },
      get: (c) => c.state.count,
    },
  });
}
