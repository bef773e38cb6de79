import assert from "node:assert/strict";
import { test } from "node:test";
import { gaugesAtZero, negativeSeries, parseSamples } from "./helpers/exposition.js";

const FAMILIES = ["troupe_actors_active", "troupe_actor_inbox_depth"];

test("gaugesAtZero passes when every series of every family reads 0", () => {
  const s = parseSamples(
    [
      "# TYPE troupe_actors_active gauge",
      'troupe_actors_active{actor_name="a"} 0',
      'troupe_actors_active{actor_name="b"} 0',
      'troupe_actor_inbox_depth{actor_name="a"} 0',
      'troupe_actor_queue_depth{actor_name="a",queue="q"} 7',
    ].join("\n"),
  );
  assert.deepEqual(gaugesAtZero(s, FAMILIES), { ok: true, problems: [] });
});

test("gaugesAtZero reports a missing family instead of summing it to 0", () => {
  const s = parseSamples(['troupe_actors_active{actor_name="a"} 0', "# TYPE troupe_actor_inbox_depth gauge"].join("\n"));
  const r = gaugesAtZero(s, FAMILIES);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, ["troupe_actor_inbox_depth: missing (no series)"]);
});

test("gaugesAtZero reports a nonzero series hidden by a negative one (+1 and -1 sum to 0)", () => {
  const s = parseSamples(
    ['troupe_actors_active{actor_name="a"} 1', 'troupe_actors_active{actor_name="b"} -1', 'troupe_actor_inbox_depth{actor_name="a"} 0'].join("\n"),
  );
  assert.equal(s.filter((x) => x.name === "troupe_actors_active").reduce((a, x) => a + x.value, 0), 0, "the old sum check would pass");
  const r = gaugesAtZero(s, FAMILIES);
  assert.equal(r.ok, false);
  assert.deepEqual(r.problems, ['troupe_actors_active{actor_name="a"} = 1', 'troupe_actors_active{actor_name="b"} = -1 (negative)']);
});

test("gaugesAtZero checks optional families only for the series they have", () => {
  const zero = parseSamples(['troupe_actors_active{actor_name="a"} 0', 'troupe_actor_inbox_depth{actor_name="a"} 0'].join("\n"));
  assert.deepEqual(gaugesAtZero(zero, FAMILIES, ["troupe_actor_websockets_active"]), { ok: true, problems: [] });
  const open = parseSamples([...["troupe_actors_active", "troupe_actor_inbox_depth"].map((n) => `${n}{actor_name="a"} 0`), 'troupe_actor_websockets_active{actor_name="a"} 2'].join("\n"));
  assert.deepEqual(gaugesAtZero(open, FAMILIES, ["troupe_actor_websockets_active"]).problems, ['troupe_actor_websockets_active{actor_name="a"} = 2']);
});

test("negativeSeries names every series below zero in the given families only", () => {
  const s = parseSamples(
    ['troupe_actors_active{actor_name="a"} 3', 'troupe_actors_active{actor_name="b"} -1', 'troupe_actor_inbox_depth{actor_name="a"} -2', "other_gauge -5"].join("\n"),
  );
  assert.deepEqual(negativeSeries(s, FAMILIES), ['troupe_actors_active{actor_name="b"} = -1', 'troupe_actor_inbox_depth{actor_name="a"} = -2']);
  assert.deepEqual(negativeSeries(parseSamples('troupe_actors_active{actor_name="a"} 0'), FAMILIES), []);
});
