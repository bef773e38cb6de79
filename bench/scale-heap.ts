// Heap snapshots of the scale server, read for the million-actor profile (bench/scale-profile.ts):
// what each awake actor adds, by constructor, closure and kind, and what an ActorInstance retains.

export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]]; location_fields?: string[] } };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

/** A parsed snapshot: per node its group (constructor, closure name, system kind), self size, and dominator. */
export interface Heap {
  count: number;
  group: string[];
  self: Float64Array;
  idom: Int32Array;
  /** Postorder numbers (-1: unreachable); dominator-tree children have lower ones than their parents. */
  post: Int32Array;
  byPost: Int32Array;
  retained: Float64Array;
  /** V8's object ids, stable across snapshots of one process. */
  ids: Float64Array;
  /** The edge that holds each node: from its dominator when that holds it directly, else its first strong retainer. */
  via: string[];
}

export function parseHeap(snap: HeapSnapshot, closurePlace: Map<number, string>): Heap {
  const m = snap.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [fType, fName, fSelf, fEdges] = ["type", "name", "self_size", "edge_count"].map((k) => m.node_fields.indexOf(k)) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((k) => m.edge_fields.indexOf(k)) as [number, number, number];
  const fId = m.node_fields.indexOf("id");
  const nodeTypes = m.node_types[0];
  const edgeTypes = m.edge_types[0];
  const weak = m.edge_types[0].indexOf("weak");
  const count = snap.nodes.length / nf;
  const group: string[] = new Array(count);
  const self = new Float64Array(count);
  const ids = new Float64Array(count);
  const firstEdge = new Int32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    ids[i] = snap.nodes[i * nf + fId]!;
    e += snap.nodes[i * nf + fEdges]! * ef;
    if (i === count - 1) firstEdge[count] = e;
    const type = nodeTypes[snap.nodes[i * nf + fType]!]!;
    const name = snap.strings[snap.nodes[i * nf + fName]!]!;
    self[i] = snap.nodes[i * nf + fSelf]!;
    group[i] =
      type === "object" ? name
      : type === "closure" ? `closure ${name || "(anonymous)"}${closurePlace.has(i) ? ` (${closurePlace.get(i)})` : ""}`
      : /string/.test(type) ? "(string)"
      : type === "number" ? "(heap number)"
      : `(${type}) ${name.length > 60 ? name.slice(0, 60) + "…" : name}`;
  }
  // Postorder from the root over strong edges, without recursion.
  const post = new Int32Array(count).fill(-1);
  const byPost = new Int32Array(count);
  const visited = new Uint8Array(count);
  const stack = new Int32Array(count + 1);
  const cursor = new Int32Array(count);
  let sp = 0;
  let n = 0;
  stack[sp++] = 0;
  visited[0] = 1;
  cursor[0] = firstEdge[0]!;
  while (sp > 0) {
    const v = stack[sp - 1]!;
    let pushed = false;
    while (cursor[v]! < firstEdge[v + 1]!) {
      const e = cursor[v]!;
      cursor[v] = e + ef;
      if (snap.edges[e + eType] === weak) continue;
      const w = snap.edges[e + eTo]! / nf;
      if (visited[w]) continue;
      visited[w] = 1;
      cursor[w] = firstEdge[w]!;
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      post[v] = n;
      byPost[n++] = v;
    }
  }
  // Predecessors, then dominators (Cooper, Harvey and Kennedy's iteration).
  const predCount = new Int32Array(count + 1);
  for (let v = 0; v < count; v++) {
    if (post[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (snap.edges[e + eType] !== weak) predCount[snap.edges[e + eTo]! / nf + 1]!++;
  }
  for (let i = 0; i < count; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Int32Array(predCount[count]!);
  const fill = predCount.slice();
  for (let v = 0; v < count; v++) {
    if (post[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (snap.edges[e + eType] !== weak) preds[fill[snap.edges[e + eTo]! / nf]!++] = v;
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = n - 2; i >= 0; i--) {
      const b = byPost[i]!;
      let d = -1;
      for (let p = predCount[b]!; p < predCount[b + 1]!; p++) {
        const q = preds[p]!;
        if (post[q]! < 0 || idom[q] === -1) continue;
        d = d === -1 ? q : intersect(q, d);
      }
      if (d !== -1 && idom[b] !== d) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  const via: string[] = new Array(count);
  const edgeLabel = (v: number, e: number) => {
    const t = edgeTypes[snap.edges[e + eType]!];
    const nm = t === "element" ? `[${snap.edges[e + eName]}]` : t === "hidden" ? "(hidden)" : snap.strings[snap.edges[e + eName]!];
    return `${group[v]!.replace(/ \(src\/.*\)$/, "")}${t === "context" ? " context var " : "."}${nm}`;
  };
  for (const fromDominator of [true, false]) {
    for (let v = 0; v < count; v++) {
      if (post[v]! < 0) continue;
      for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) {
        if (snap.edges[e + eType] === weak) continue;
        const w = snap.edges[e + eTo]! / nf;
        if (via[w] === undefined && (!fromDominator || idom[w] === v)) via[w] = edgeLabel(v, e);
      }
    }
  }
  const retained = Float64Array.from(self);
  for (let i = 0; i < n - 1; i++) {
    const v = byPost[i]!;
    const d = idom[v]!;
    if (d >= 0 && d !== v) retained[d] = retained[d]! + retained[v]!;
  }
  return { count, group, self, idom, post, byPost: byPost.subarray(0, n), retained, ids, via };
}

export interface HeapSummary {
  awake: number;
  totalDiffBytes: number;
  /** Self size added per awake actor, by group (constructor, closure, system kind): the bytes, wherever they hang. */
  perActorByGroup: Array<{ group: string; countPerActor: number; bytesPerActor: number; heldBy: string }>;
  /** The same, closures and their contexts summed by file. */
  closuresByFile: Array<{ file: string; closuresPerActor: number; bytesPerActor: number }>;
  /** Retained size of one ActorInstance (what it alone keeps alive), and that subtree by group. */
  instanceRetained: { instances: number; meanBytes: number; byGroup: Array<{ group: string; bytesPerActor: number; countPerActor: number }> };
  /** The biggest retained sizes of other per-actor classes (mean per instance, counted where not inside an ActorInstance too). */
  classRetained: Array<{ group: string; instances: number; meanRetained: number; meanSelf: number }>;
}

export function summarizeHeap(before: Heap, after: Heap, awake: number, top = 45): HeapSummary {
  const tally = (h: Heap) => {
    const m = new Map<string, { n: number; bytes: number }>();
    for (let i = 0; i < h.byPost.length; i++) {
      const v = h.byPost[i]!;
      const t = m.get(h.group[v]!) ?? { n: 0, bytes: 0 };
      t.n++;
      t.bytes += h.self[v]!;
      m.set(h.group[v]!, t);
    }
    return m;
  };
  const a = tally(before);
  const b = tally(after);
  // Who holds the objects that are new since the first snapshot, by group: the top two edges by bytes.
  const oldIds = new Set<number>();
  for (let i = 0; i < before.byPost.length; i++) oldIds.add(before.ids[before.byPost[i]!]!);
  const holders = new Map<string, Map<string, number>>();
  for (let i = 0; i < after.byPost.length; i++) {
    const v = after.byPost[i]!;
    if (oldIds.has(after.ids[v]!)) continue;
    const hm = holders.get(after.group[v]!) ?? holders.set(after.group[v]!, new Map()).get(after.group[v]!)!;
    const label = after.via[v] ?? "?";
    hm.set(label, (hm.get(label) ?? 0) + after.self[v]!);
  }
  const heldBy = (g: string) => {
    const hm = holders.get(g);
    if (!hm) return "";
    const total = [...hm.values()].reduce((x, y) => x + y, 0);
    return [...hm].sort((x, y) => y[1] - x[1]).slice(0, 2).map(([l, bytes]) => `${l} ${Math.round((bytes / total) * 100)}%`).join("; ");
  };
  const diff = [...b].map(([g, t]) => ({ group: g, countPerActor: (t.n - (a.get(g)?.n ?? 0)) / awake, bytesPerActor: (t.bytes - (a.get(g)?.bytes ?? 0)) / awake, heldBy: heldBy(g) }));
  const totalDiffBytes = diff.reduce((x, d) => x + d.bytesPerActor, 0) * awake;
  // Nodes inside an ActorInstance's dominator subtree: parents come before children in reverse postorder.
  const owner = new Int32Array(after.count).fill(-1);
  const instances: number[] = [];
  for (let i = after.byPost.length - 1; i >= 0; i--) {
    const v = after.byPost[i]!;
    if (after.group[v] === "ActorInstance") {
      owner[v] = v;
      instances.push(v);
    } else if (after.idom[v]! >= 0 && after.idom[v] !== v) owner[v] = owner[after.idom[v]!]!;
  }
  const inside = new Map<string, { n: number; bytes: number }>();
  for (let v = 0; v < after.count; v++) {
    if (owner[v]! < 0) continue;
    const t = inside.get(after.group[v]!) ?? { n: 0, bytes: 0 };
    t.n++;
    t.bytes += after.self[v]!;
    inside.set(after.group[v]!, t);
  }
  const ni = Math.max(1, instances.length);
  const classes = new Map<string, { n: number; retained: number; self: number }>();
  for (let v = 0; v < after.count; v++) {
    const g = after.group[v]!;
    if (after.post[v]! < 0 || g.startsWith("(") || g.startsWith("closure ")) continue;
    const t = classes.get(g) ?? { n: 0, retained: 0, self: 0 };
    t.n++;
    t.retained += after.retained[v]!;
    t.self += after.self[v]!;
    classes.set(g, t);
  }
  const perActorClasses = [...classes]
    .filter(([g, t]) => t.n >= awake * 0.9 && (a.get(g)?.n ?? 0) < t.n - awake * 0.9)
    .map(([g, t]) => ({ group: g, instances: t.n, meanRetained: t.retained / t.n, meanSelf: t.self / t.n }))
    .sort((x, y) => y.meanRetained - x.meanRetained)
    .slice(0, top);
  const byFile = new Map<string, { n: number; bytes: number }>();
  for (const d of diff) {
    if (!d.group.startsWith("closure ")) continue;
    const file = /\((src\/[^:]+|[^()]+):\d+\)$/.exec(d.group)?.[1] ?? "(unknown)";
    const t = byFile.get(file) ?? { n: 0, bytes: 0 };
    t.n += d.countPerActor;
    t.bytes += d.bytesPerActor;
    byFile.set(file, t);
  }
  return {
    awake,
    totalDiffBytes,
    closuresByFile: [...byFile].map(([file, t]) => ({ file, closuresPerActor: t.n, bytesPerActor: t.bytes })).filter((x) => Math.abs(x.bytesPerActor) >= 1).sort((x, y) => y.bytesPerActor - x.bytesPerActor),
    perActorByGroup: diff.filter((d) => Math.abs(d.bytesPerActor) >= 1).sort((x, y) => y.bytesPerActor - x.bytesPerActor).slice(0, top),
    instanceRetained: {
      instances: instances.length,
      meanBytes: instances.reduce((x, v) => x + after.retained[v]!, 0) / ni,
      byGroup: [...inside].map(([g, t]) => ({ group: g, bytesPerActor: t.bytes / ni, countPerActor: t.n / ni })).sort((x, y) => y.bytesPerActor - x.bytesPerActor).slice(0, top),
    },
    classRetained: perActorClasses,
  };
}

/** Closure node index to its src place, through the snapshot's locations and the server's source maps. */
