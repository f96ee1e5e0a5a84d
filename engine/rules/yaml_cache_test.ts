import assert from "node:assert/strict";
import { MAX_CACHE_ENTRIES, readLocatedYaml } from "./yaml_cache.ts";

const TEXT = `# a rule file, as users write them
rules:
  - id: one
    priority: 5
    when: { "==": [{ var: leg.caller.number }, "1427"] }
    labels: [a, b]
  - id: two
    base: &shared { x: 1, y: [true, null, 2.5] }
    again: *shared
    quoted: "a: b"
`;

/** Paths whose positions are compared between a parsed and a cached document. */
const PATHS: (string | number)[][] = [
  [],
  ["rules"],
  ["rules", 0],
  ["rules", 0, "id"],
  ["rules", 0, "when"],
  ["rules", 0, "labels", 1],
  ["rules", 1, "base", "y", 2],
  ["rules", 1, "again"],
  ["rules", 1, "quoted"],
  ["rules", 1, "missing", "deeper"],
];

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("yaml cache: a cached file reads back as the parsed one, values and positions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const parsed = await readLocatedYaml(TEXT, "r.yaml", { dir });
    assert.deepEqual(parsed.errors, []);
    assert.equal((await entries(dir)).length, 1);
    const cached = await readLocatedYaml(TEXT, "other-name.yaml", { dir });
    assert.deepEqual(cached.errors, []);
    assert.equal(cached.document.file, "other-name.yaml");
    assert.deepEqual(cached.document.value, parsed.document.value);
    for (const path of PATHS) {
      assert.deepEqual(cached.document.at(path), parsed.document.at(path), `at ${path}`);
      assert.deepEqual(cached.document.keyAt(path), parsed.document.keyAt(path), `keyAt ${path}`);
    }
    // Maps are null-prototype objects either way.
    const rules = (cached.document.value as { rules: Record<string, unknown>[] }).rules;
    assert.equal(Object.getPrototypeOf(rules[0]), null);
    assert.equal(Object.getPrototypeOf(rules[1]!.base), null);
    assert.deepEqual(cached.document.at(["rules", 0, "labels", 1]), { line: 6, column: 17 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("yaml cache: the entry is what is read (it is used, not just written)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await readLocatedYaml("a: 1\n", "f.yaml", { dir });
    const [name] = await entries(dir);
    const path = `${dir}/${name}`;
    const entry = JSON.parse(await Deno.readTextFile(path));
    entry.value.a = 2;
    await Deno.writeTextFile(path, JSON.stringify(entry));
    const again = await readLocatedYaml("a: 1\n", "f.yaml", { dir });
    assert.deepEqual({ ...(again.document.value as object) }, { a: 2 });
    // Another text is another entry.
    const other = await readLocatedYaml("a: 3\n", "f.yaml", { dir });
    assert.deepEqual({ ...(other.document.value as object) }, { a: 3 });
    assert.equal((await entries(dir)).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("yaml cache: damaged entries are parsed again, errors are never cached", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await readLocatedYaml("a: 1\n", "f.yaml", { dir });
    const [name] = await entries(dir);
    for (
      const damage of [
        "{not json",
        '{"version":99,"value":{},"positions":[],"keyPositions":[]}',
        "[]",
      ]
    ) {
      await Deno.writeTextFile(`${dir}/${name}`, damage);
      const r = await readLocatedYaml("a: 1\n", "f.yaml", { dir });
      assert.deepEqual({ ...(r.document.value as object) }, { a: 1 }, damage);
    }
    const broken = "rules:\n  - id: x\n    on: [call.started\n";
    const first = await readLocatedYaml(broken, "b.yaml", { dir });
    const second = await readLocatedYaml(broken, "b.yaml", { dir });
    assert.ok(first.errors.length > 0);
    assert.deepEqual(second.errors.map((e) => e.message), first.errors.map((e) => e.message));
    assert.equal((await entries(dir)).length, 1, "the broken file left no entry");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("yaml cache: a __proto__ key stays a key; values JSON would change are not cached", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (let i = 0; i < 2; i++) {
      const r = await readLocatedYaml("__proto__:\n  polluted: true\nok: 1\n", "p.yaml", { dir });
      const value = r.document.value as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(value), null);
      assert.deepEqual(Object.keys(value), ["__proto__", "ok"]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
    const infinite = await readLocatedYaml("limit: .inf\n", "i.yaml", { dir });
    assert.equal((infinite.document.value as { limit: number }).limit, Infinity);
    assert.equal((await entries(dir)).length, 1, "only the __proto__ file was cached");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("yaml cache: no cache, or one that cannot be written, changes nothing", async () => {
  const file = await Deno.makeTempFile();
  try {
    for (const dir of [null, `${file}/under-a-file`]) {
      const r = await readLocatedYaml(TEXT, "r.yaml", { dir });
      assert.deepEqual(r.errors, []);
      assert.equal((r.document.value as { rules: unknown[] }).rules.length, 2);
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("yaml cache: the oldest entries go past the limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const old = new Date(Date.UTC(2020, 0, 1));
    for (let i = 0; i < MAX_CACHE_ENTRIES + 5; i++) {
      const path = `${dir}/${i.toString(16).padStart(64, "0")}.json`;
      await Deno.writeTextFile(path, "{}");
      const when = new Date(old.getTime() + i * 1000);
      await Deno.utime(path, when, when);
    }
    await readLocatedYaml("fresh: true\n", "f.yaml", { dir });
    const names = await entries(dir);
    assert.equal(names.length, MAX_CACHE_ENTRIES);
    const fresh = await readLocatedYaml("fresh: true\n", "f.yaml", { dir });
    assert.deepEqual({ ...(fresh.document.value as object) }, { fresh: true });
    assert.ok(!names.includes(`${"0".repeat(64)}.json`), "the oldest went first");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
