import { actor, UserError } from "../src/index.js";

/** The smallest useful actor: durable state, one event, input validation. */
export const counter = actor({
  state: { count: 0 },
  actions: {
    increment: (c, by: number = 1) => {
      if (!Number.isFinite(by)) throw new UserError("`by` must be a finite number", { code: "invalid_amount" });
      c.state.count += by;
      c.broadcast("changed", c.state.count);
      return c.state.count;
    },
    get: (c) => c.state.count,
    reset: (c) => {
      c.state.count = 0;
      c.broadcast("changed", 0);
      return 0;
    },
  },
});
