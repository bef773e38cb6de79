// The ports RivetKit's engine and services listen on, and who holds them: shared by the peer
// scripts, which must stop exactly the engine processes they started.
import { execSync } from "node:child_process";

export const ENGINE_PORTS = [6420, 8642];

/** PIDs (other than this process) listening on the engine's ports. */
export function pidsOnPorts() {
  try {
    const text = execSync("ss -ltnpH", { encoding: "utf8" });
    const pids = new Set();
    for (const line of text.split("\n")) {
      if (!ENGINE_PORTS.some((p) => line.includes(`:${p} `))) continue;
      for (const m of line.matchAll(/pid=(\d+)/g)) if (Number(m[1]) !== process.pid) pids.add(Number(m[1]));
    }
    return [...pids];
  } catch {
    return [];
  }
}
