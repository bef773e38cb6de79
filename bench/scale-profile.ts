import fs from "node:fs";
import path from "node:path";
import { BUILD_DIR, type CreateFigures, type CreateForm, Http, IN_FLIGHT, type Runtime, type Server, adminOf, createPhase, int, keyOf, memAfterGc, pool, prepareServer, root, sleep, startServer, stopServer } from "./scale-harness.js";
import { parseHeap, summarizeHeap, type Heap, type HeapSnapshot, type HeapSummary } from "./scale-heap.js";
import { table } from "./stats.js";

// The million-actor bench's profile (`node --import tsx bench/scale-million.ts --profile
// --count=N [--awake=K] --out=DIR`): a CPU profile of the create phase on a fresh server and heap
// snapshots with none and K actors awake, summarized by src place.

// ---- profiles: where creation's CPU and an awake actor's bytes go -------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A src-relative place for a generated (tsx) position, through the server's own source maps. */
async function resolvePlaces(s: Server, frames: Array<{ url: string; line: number; column: number }>): Promise<Array<string | undefined>> {
  const out: Array<string | undefined> = [];
  for (let i = 0; i < frames.length; i += 500) {
    const batch = frames.slice(i, i + 500);
    const r = await adminOf(s).request("POST", "/resolve", batch);
    const mapped = JSON.parse(r.text) as Array<{ file: string; line: number } | null>;
    mapped.forEach((m, j) => out.push(m ? `${shortFile(m.file)}:${m.line}` : shortFile(batch[j]!.url) || undefined));
  }
  return out;
}

function shortFile(url: string): string {
  if (!url) return "";
  let u = url.replace(/^file:\/\//, "");
  if (u.startsWith(BUILD_DIR)) u = `(built) ${u.slice(BUILD_DIR.length + 1)}`;
  const i = u.indexOf("/node_modules/");
  if (i >= 0) return u.slice(i + "/node_modules/".length);
  return u.startsWith(root) ? u.slice(root.length + 1) : u;
}

export interface CpuSummary {
  totalMs: number;
  self: Array<{ fn: string; ms: number; share: number }>;
  inclusive: Array<{ fn: string; ms: number; share: number }>;
  byFile: Array<{ file: string; ms: number; share: number }>;
}

/** Self and inclusive time by function (name and src place), and self time by file. */
async function summarizeCpuProfile(s: Server, profile: CpuProfile, top = 25): Promise<CpuSummary> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frames = profile.nodes.map((n) => ({ url: n.callFrame.url, line: n.callFrame.lineNumber, column: n.callFrame.columnNumber }));
  const places = await resolvePlaces(s, frames);
  const label = new Map<number, string>();
  const fileOf = new Map<number, string>();
  profile.nodes.forEach((n, i) => {
    const place = places[i];
    label.set(n.id, `${n.callFrame.functionName || "(anonymous)"}${place ? ` ${place}` : ""}`);
    fileOf.set(n.id, place?.replace(/:\d+$/, "") || n.callFrame.functionName);
  });
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const name = byId.get(id)!.callFrame.functionName;
    if (name === "(idle)") return;
    total += us;
    self.set(label.get(id)!, (self.get(label.get(id)!) ?? 0) + us);
    file.set(fileOf.get(id)!, (file.get(fileOf.get(id)!) ?? 0) + us);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label.get(n)!;
      if (seen.has(l)) continue;
      seen.add(l);
      incl.set(l, (incl.get(l) ?? 0) + us);
    }
  });
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ fn: k, ms: us / 1000, share: us / total }));
  return { totalMs: total / 1000, self: rows(self), inclusive: rows(incl).filter((r) => !/^\((root|program)\)/.test(r.fn)), byFile: rows(file).map((r) => ({ file: r.fn, ms: r.ms, share: r.share })) };
}

async function closurePlaces(s: Server, snap: HeapSnapshot): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const loc = snap.locations;
  const lf = snap.snapshot.meta.location_fields;
  if (!loc || !lf) return out;
  const nf = snap.snapshot.meta.node_fields.length;
  const scripts = new Map((await adminOf(s).json<Array<{ scriptId: string; url: string }>>("GET", "/scripts")).map((x) => [Number(x.scriptId), x.url]));
  const [oI, sI, lI, cI] = ["object_index", "script_id", "line", "column"].map((k) => lf.indexOf(k)) as [number, number, number, number];
  const want: Array<{ node: number; url: string; line: number; column: number }> = [];
  const seen = new Map<string, number[]>();
  for (let i = 0; i < loc.length; i += lf.length) {
    const url = scripts.get(loc[i + sI]!);
    if (!url) continue;
    const k = `${url}:${loc[i + lI]}:${loc[i + cI]}`;
    const nodes = seen.get(k);
    if (nodes) nodes.push(loc[i + oI]! / nf);
    else {
      seen.set(k, [loc[i + oI]! / nf]);
      want.push({ node: loc[i + oI]! / nf, url, line: loc[i + lI]!, column: loc[i + cI]! });
    }
  }
  const places = await resolvePlaces(s, want);
  want.forEach((w, i) => {
    const p = places[i];
    if (!p) return;
    for (const node of seen.get(`${w.url}:${w.line}:${w.column}`)!) out.set(node, p);
  });
  return out;
}

async function heapOf(s: Server, file: string): Promise<Heap> {
  await adminOf(s).json("GET", `/snapshot?file=${encodeURIComponent(file)}`);
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as HeapSnapshot;
  return parseHeap(snap, await closurePlaces(s, snap));
}

export interface ProfileFigures {
  create: CreateFigures;
  cpu: CpuSummary;
  heap: HeapSummary;
  heapPerActorGc: number;
}

/** A CPU profile of the create phase (n actors, fresh server) and heap snapshots around `awake` woken actors. */
export async function runScaleProfile(opts: { count: number; awake: number; form: CreateForm; out: string; runtime?: Runtime; log?: (l: string) => void }): Promise<ProfileFigures> {
  const log = opts.log ?? ((l: string) => console.error(l));
  prepareServer(opts.runtime ?? "built", log);
  fs.mkdirSync(opts.out, { recursive: true });
  let s = await startServer({ BENCH_SLEEP_MS: "2000" }, ["--enable-source-maps"]);
  try {
    // The create phase only, through the inspector's sampling profiler (a sample every 100 µs).
    await adminOf(s).json("GET", "/profile/start?us=100");
    const create = await createPhase(s, opts.form, opts.count, log);
    const cpuFile = path.join(opts.out, "create.cpuprofile");
    await adminOf(s).json("GET", `/profile/stop?file=${encodeURIComponent(cpuFile)}`);
    log(`create phase: ${Math.round(create.perSec)}/s; profile in ${cpuFile}`);
    const cpu = await summarizeCpuProfile(s, JSON.parse(fs.readFileSync(cpuFile, "utf8")) as CpuProfile);
    await stopServer(s);

    // Awake actors: they stay awake (10 min sleep timeout) while snapshotted.
    s = await startServer({ BENCH_SLEEP_MS: "600000" }, ["--enable-source-maps"]);
    const h = new Http(s.url);
    const ids: string[] = [];
    await pool(opts.awake, IN_FLIGHT, async (i) => {
      const { actor } = await h.json<{ actor: { actor_id: string } }>("PUT", "/actors", { name: "counter", key: keyOf(i) });
      await h.json("POST", `/gateway/${actor.actor_id}/action/increment`, { args: [] });
      ids[i] = actor.actor_id;
    });
    await adminOf(s).json("GET", "/sleep-all");
    h.reset();
    await sleep(500);
    // A first snapshot, thrown away: it and the source-map lookups for its closures leave lasting
    // objects (script line ends, parsed source maps) that must not count as the awake actors'.
    await heapOf(s, path.join(opts.out, "warm-up.heapsnapshot"));
    fs.rmSync(path.join(opts.out, "warm-up.heapsnapshot"));
    const m0 = await memAfterGc(s);
    const before = await heapOf(s, path.join(opts.out, "none-awake.heapsnapshot"));
    const r = await pool(ids.length, IN_FLIGHT, async (i) => void (await h.json("POST", `/gateway/${ids[i]}/action/get`, { args: [] })));
    if (r.errors > 0) throw new Error(r.firstErrors.join("; "));
    h.reset();
    await sleep(500);
    const m1 = await memAfterGc(s);
    const after = await heapOf(s, path.join(opts.out, "awake.heapsnapshot"));
    log(`snapshots: ${before.count} nodes with none awake, ${after.count} with ${m1.live} awake`);
    return { create, cpu, heap: summarizeHeap(before, after, m1.live), heapPerActorGc: (m1.heapUsed - m0.heapUsed) / m1.live };
  } finally {
    await stopServer(s);
  }
}

/** Prints a profile run: where the create phase's CPU and an awake actor's bytes go. */
export function printScaleProfile(p: ProfileFigures): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`Create phase: ${int(p.create.n)} actors (${p.create.form}) at ${int(p.create.perSec)}/s; main-thread profile ${int(p.cpu.totalMs)} ms busy`);
  console.log(table(["self time: function and src place", "ms", "share"], p.cpu.self.map((r) => [r.fn, r.ms.toFixed(0), pct(r.share)])));
  console.log(table(["inclusive time", "ms", "share"], p.cpu.inclusive.map((r) => [r.fn, r.ms.toFixed(0), pct(r.share)])));
  console.log(table(["self time by file", "ms", "share"], p.cpu.byFile.map((r) => [r.file, r.ms.toFixed(0), pct(r.share)])));
  const hs = p.heap;
  console.log(`\nHeap: ${int(hs.awake)} awake; ${int(p.heapPerActorGc)} B/actor by heapUsed after GC, ${int(hs.totalDiffBytes / hs.awake)} B/actor by snapshot self sizes`);
  console.log(table(["self size added per awake actor, by constructor / closure / kind", "bytes", "objects", "held by (new objects, by bytes)"], hs.perActorByGroup.map((r) => [r.group, r.bytesPerActor.toFixed(0), r.countPerActor.toFixed(2), r.heldBy])));
  console.log(table(["closures per awake actor, by file", "closures", "bytes"], hs.closuresByFile.map((r) => [r.file, r.closuresPerActor.toFixed(2), r.bytesPerActor.toFixed(0)])));
  console.log(`\nActorInstance retained size: ${int(hs.instanceRetained.meanBytes)} B mean over ${int(hs.instanceRetained.instances)} instances`);
  console.log(table(["inside an ActorInstance's retained tree", "bytes", "objects"], hs.instanceRetained.byGroup.map((r) => [r.group, r.bytesPerActor.toFixed(0), r.countPerActor.toFixed(2)])));
  console.log(table(["per-actor class", "instances", "mean retained", "mean self"], hs.classRetained.map((r) => [r.group, int(r.instances), int(r.meanRetained), int(r.meanSelf)])));
}
