import { errors } from "../../common/errors.js";

/**
 * The RivetKit parameters that mean something on Rivet's engine but not here. Each is accepted
 * where Troupe behaves as the client expects, and refused where ignoring it would mislead
 * (docs/PROTOCOL.md, "RivetKit client protocol (HTTP)").
 */

/** One namespace: a client that names another expects its actors kept apart, which Troupe does not do. */
export function checkNamespace(namespace: string | null | undefined): void {
  if (namespace === null || namespace === undefined || namespace === "" || namespace === "default") return;
  throw errors.rivetNamespaceNotFound(namespace);
}

/**
 * `sleep` (the client's default) is what Troupe does after a crash: the actor restarts from its
 * last committed state on the next call. `restart` and `destroy` promise something else.
 */
export function checkCrashPolicy(policy: string | null | undefined): void {
  if (policy === null || policy === undefined || policy === "sleep") return;
  throw errors.rivetInvalidRequest(`crash policy \`${policy.slice(0, 50)}\` is not supported; Troupe actors behave as \`sleep\` after a crash`);
}

// Accepted and ignored: runner_name_selector / rvt-runner (pool name; one runtime serves every
// actor), datacenter / rvt-region (one region), tokens (@token, rvt-token, x-rivet-token,
// Authorization on the management API: Troupe has no engine token; actors decide access in
// onBeforeConnect), rvt-skip-ready-wait (calls always wait for the actor to be ready).
