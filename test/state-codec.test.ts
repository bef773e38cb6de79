import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeState, encodeState } from "../src/actor/state-codec.js";
import { TroupeError } from "../src/index.js";

describe("state codec", () => {
  test("round-trips every documented type", () => {
    const state = {
      s: "text",
      n: 1.5,
      i: -3,
      b: true,
      z: null,
      arr: [1, "two", [3]],
      d: new Date(1_700_000_000_000),
      m: new Map<unknown, unknown>([["k", { deep: 1 }], [2, "numeric key"]]),
      set: new Set([1, 2, 3]),
      bytes: new Uint8Array([0, 255]),
      nested: { a: { b: { c: [] as unknown[] } } },
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
    };
    const back = decodeState(encodeState(state)) as typeof state;
    assert.deepEqual({ ...back, bytes: [...back.bytes] }, { ...state, bytes: [...state.bytes] });
    assert.ok(back.m instanceof Map && back.set instanceof Set && back.d instanceof Date);
  });

  test("shared (non-cyclic) references are fine", () => {
    const shared = { x: 1 };
    assert.doesNotThrow(() => encodeState({ a: shared, b: shared }));
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ["function", { cb: () => 1 }, /state\.cb is a function/],
    ["class instance", { when: new (class Point { x = 1; })() }, /state\.when is an instance of Point/],
    ["nested function in array", { list: [1, { f() {} }] }, /state\.list\[1\]\.f is a function/],
    ["bigint", { big: 10n }, /state\.big is a bigint/],
    ["symbol", { s: Symbol("x") }, /state\.s is a symbol/],
    ["invalid date", { d: new Date(Number.NaN) }, /state\.d is an invalid Date/],
    ["map value", { m: new Map([["k", () => 1]]) }, /state\.m\.get\("k"\) is a function/],
  ];
  for (const [what, value, message] of refused) {
    test(`refuses a ${what}, naming the path`, () => {
      assert.throws(() => encodeState(value), (e: unknown) => e instanceof TroupeError && e.code === "invalid_state" && message.test(e.message));
    });
  }

  // Each turn checks its state with a quick walk and names a fault with a second, slower one: the
  // quick one must refuse exactly what is refused, whatever the shape, depth or sharing.
  test("refuses a value exactly when it holds something unstorable, at any depth", () => {
    const bad = fc.constantFrom<[string, () => unknown]>(
      ["function", () => () => 1],
      ["bigint", () => 5n],
      ["symbol", () => Symbol("s")],
      ["instance", () => new (class Point {})()],
      ["typed array", () => new Float64Array(1)],
      ["invalid date", () => new Date(Number.NaN)],
    );
    const leaf = fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constant(new Uint8Array([1])), fc.date({ noInvalidDate: true }));
    type Tree = { value: unknown; faults: number };
    const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree; list: Tree; obj: Tree; map: Tree; set: Tree; deep: Tree }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaf.map((value) => ({ value, faults: 0 })),
        bad.map(([, make]) => ({ value: make(), faults: 1 })),
        tie("list"),
        tie("obj"),
        tie("map"),
        tie("set"),
        tie("deep"),
      ),
      list: fc.array(tie("node"), { maxLength: 4 }).map((xs) => ({ value: xs.map((x) => x.value), faults: xs.reduce((n, x) => n + x.faults, 0) })),
      obj: fc.dictionary(fc.string({ maxLength: 4 }), tie("node"), { maxKeys: 4 }).map((d) => ({
        value: Object.fromEntries(Object.entries(d).map(([k, x]) => [k, x.value])),
        faults: Object.values(d).reduce((n, x) => n + x.faults, 0),
      })),
      map: fc.array(tie("node"), { maxLength: 3 }).map((xs) => ({ value: new Map(xs.map((x, i) => [i, x.value])), faults: xs.reduce((n, x) => n + x.faults, 0) })),
      set: fc.array(tie("node"), { maxLength: 3 }).map((xs) => ({ value: new Set(xs.map((x) => x.value)), faults: xs.reduce((n, x) => n + x.faults, 0) })),
      // Past the quick walk's depth, so the full walk alone decides.
      deep: fc.tuple(fc.integer({ min: 40, max: 70 }), tie("node")).map(([n, x]) => {
        let value: unknown = x.value;
        for (let i = 0; i < n; i++) value = [value];
        return { value, faults: x.faults };
      }),
    })).node;
    fc.assert(
      fc.property(tree, fc.boolean(), ({ value, faults }, cyclic) => {
        // A shared subtree is fine; the same object as its own descendant is a cycle.
        const holder: Record<string, unknown> = { value, again: value };
        if (cyclic) holder.self = [{ up: holder }];
        const refused = (() => {
          try {
            encodeState(holder);
            return false;
          } catch (e) {
            assert.ok(e instanceof TroupeError && e.code === "invalid_state");
            return true;
          }
        })();
        assert.equal(refused, faults > 0 || cyclic);
      }),
      { numRuns: 1000 },
    );
  });

  test("refuses a cycle, naming the path", () => {
    const a: Record<string, unknown> = { child: {} };
    (a.child as Record<string, unknown>).parent = a;
    assert.throws(() => encodeState(a), /state\.child\.parent refers back to one of its parents/);
  });
});
