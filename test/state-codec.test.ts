import assert from "node:assert/strict";
import { describe, test } from "node:test";
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

  test("refuses a cycle, naming the path", () => {
    const a: Record<string, unknown> = { child: {} };
    (a.child as Record<string, unknown>).parent = a;
    assert.throws(() => encodeState(a), /state\.child\.parent refers back to one of its parents/);
  });
});
