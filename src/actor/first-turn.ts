import type { ActorContext } from "./context.js";
import type { ActorType } from "./actor-type.js";

/** What the first turn needs of its instance. */
export interface FirstTurnHost {
  state: unknown;
  vars: unknown;
  /** Made on first use: only a hook takes it. */
  readonly ctx: ActorContext<any, any, any, any>;
}

/**
 * The body of an instance's first turn: for an actor whose first turn never committed,
 * createState and onCreate with its input; then createVars and onWake. Synchronous (no promise,
 * so no timeout timer either) when the type has none of these hooks.
 */
export function runFirstTurn(host: FirstTurnHost, cfg: ActorType["config"], creating: boolean, input: unknown): void | Promise<void> {
  if (!cfg.createState && !cfg.createVars && !cfg.onCreate && !cfg.onWake) {
    if (creating) host.state = structuredClone(cfg.state);
    if (cfg.vars !== undefined) host.vars = structuredClone(cfg.vars);
    return;
  }
  return (async () => {
    if (creating) host.state = cfg.createState ? await cfg.createState(host.ctx, input) : structuredClone(cfg.state);
    if (cfg.createVars) host.vars = await cfg.createVars(host.ctx);
    else if (cfg.vars !== undefined) host.vars = structuredClone(cfg.vars);
    if (creating) await cfg.onCreate?.(host.ctx, input);
    await cfg.onWake?.(host.ctx);
  })();
}
