// RivetKit 2.3.19's own server (engine, services and this process as the runner) with the same
// counter actor as bench/fixtures/bench-server.ts, for bench/client-peer.ts to drive with the
// rivetkit client from another process. `node bench/peer/rivetkit-client-server.mjs`:
//   - stdout, once ready:  {"url":"http://127.0.0.1:6420","enginePids":[...],"startMs":N}
//   - then it serves until stdin closes (or SIGTERM/SIGINT), and on the way out always calls
//     `registry.shutdown()`, stops the engine processes it started by their PIDs, and prints
//     {"stopped":true,"shutdownMs":N,"left":[pids still listening on 6420/8642]}
// Logs go to stderr. When 6420 or 8642 is held (a Troupe server on its default port, another
// RivetKit run) it waits up to 2 minutes and then gives up: it never kills a process it did not
// start.
import { counterActor } from "./counter.mjs";
import { pidsOnPorts } from "./engine-ports.mjs";
import fs from "node:fs";

delete process.env.RUST_BACKTRACE; // slows the engine about 5x
const log = (...a) => console.error("[rivetkit-server]", ...a);
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms).unref())]);


const cmdline = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
};
const isRivetProcess = (pid) => /@rivetkit\/engine-cli|@rivet-dev\/services|rivet-engine|rivet-services/i.test(cmdline(pid));

/** Every live process whose parent chain reaches this one. */
function descendants() {
  const parent = new Map();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const found = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid), hops = 0; p && hops < 64; p = parent.get(p), hops++) {
      if (p === process.pid) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function stopPids(pids) {
  for (const pid of pids) if (alive(pid)) try { process.kill(pid, "SIGTERM"); } catch {}
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) {
    if (!alive(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
      log("SIGKILLed", pid);
    } catch {}
  }
}

let registry;
let enginePids = [];
let stopping;
async function stop(reason) {
  stopping ??= (async () => {
    log(`shutting down (${reason})`);
    const t = performance.now();
    if (registry) await withTimeout(registry.shutdown(), 60_000, "shutdown").catch((err) => log("shutdown:", err?.message ?? err));
    const shutdownMs = performance.now() - t;
    // The engine and services processes this one started, by PID; plus anything else it spawned.
    await stopPids([...new Set([...enginePids, ...descendants()])]);
    const left = pidsOnPorts();
    if (left.length > 0) log("still listening on 6420/8642 after cleanup:", left.map((p) => `${p} ${cmdline(p)}`).join("; "));
    out({ stopped: true, shutdownMs, left });
    process.exit(left.length > 0 ? 1 : 0);
  })();
  return stopping;
}

const hardStop = setTimeout(() => void stop("15-minute limit"), 15 * 60_000);
hardStop.unref();
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));

try {
  // Another run (a test, the peer bench) may hold the ports for a while: wait for it, but never
  // kill a process this script did not start, RivetKit's or not.
  let busy = pidsOnPorts();
  for (const deadline = Date.now() + 120_000; busy.length > 0 && Date.now() < deadline; busy = pidsOnPorts()) {
    log("ports 6420/8642 are busy; waiting:", busy.map((p) => `${p}${isRivetProcess(p) ? " (a RivetKit engine or services process)" : ""}`).join(", "));
    await new Promise((r) => setTimeout(r, 5_000));
  }
  if (busy.length > 0) throw new Error(`ports 6420/8642 are held by processes this script did not start and will not kill: ${busy.map((p) => `${p} ${cmdline(p)}`).join("; ")}`);
  const { actor, setup } = await import("rivetkit");
  const counter = counterActor(actor);
  // RivetKit's own SIGINT/SIGTERM handlers would race this script's cleanup.
  registry = setup({ use: { counter }, shutdown: { disableSignalHandlers: true } });
  log("starting RivetKit (engine and services)...");
  const t = performance.now();
  await withTimeout(registry.startAndWait(), 120_000, "startAndWait");
  const startMs = performance.now() - t;
  enginePids = descendants();
  log("ready; engine processes:", enginePids.map((p) => `${p} ${cmdline(p).slice(0, 120)}`).join("; "));
  out({ url: "http://127.0.0.1:6420", enginePids, startMs });
  process.stdin.resume();
  process.stdin.on("end", () => void stop("stdin closed"));
  process.stdin.on("close", () => void stop("stdin closed"));
} catch (err) {
  log("failed:", err?.stack ?? err);
  out({ error: String(err?.message ?? err) });
  await stop("failure");
}
