import { toolWorks } from "../tests/support/tools.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readPluginsFile } from "../cli/plugins_loading.ts";
import { Analyzer } from "../engine/analyzer.ts";
import { PluginHost } from "../plugins/host.ts";
import { BUILTIN_PLUGINS } from "../plugins/registry.ts";
import createHepExporter, { type HepOptions } from "../plugins/export/hep.ts";
import type { PluginContext } from "../plugins/plugin.ts";

const ROOT = new URL("../", import.meta.url);
const UNIT = new URL("deploy/packetwave.service", ROOT).pathname;
const PLUGINS = new URL("deploy/plugins.example.yaml", ROOT).pathname;
const GUIDE = new URL("docs/appliance.md", ROOT).pathname;
const TEXT = new TextDecoder();

const hasSystemdAnalyze = toolWorks("systemd-analyze", ["--version"]);
if (!hasSystemdAnalyze) console.warn("deploy_test: systemd-analyze not found, skipping unit check");

/** `Key=value` lines of a unit's section, continuation lines joined. */
function unitSection(text: string, section: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const line of text.replace(/\\\n\s*/g, " ").split("\n")) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) {
      current = header[1]!;
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (current !== section || !kv) continue;
    out.set(kv[1]!, [...(out.get(kv[1]!) ?? []), kv[2]!.trim()]);
  }
  return out;
}

/** The options a `packetwave` command's --help lists. */
async function helpOptions(...command: string[]): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("main.ts", ROOT).pathname, ...command, "--help"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = TEXT.decode(out.stdout) + TEXT.decode(out.stderr);
  return new Set(text.match(/--[a-z][a-z-]*/g) ?? []);
}

function flagsOf(commandLine: string): string[] {
  return commandLine.match(/(?<=\s)--[a-z][a-z-]*/g) ?? [];
}

/** The value after a flag in a command line. */
function valueOf(commandLine: string, flag: string): string[] {
  const words = commandLine.split(/\s+/);
  return words.flatMap((w, i) => (w === flag && words[i + 1] ? [words[i + 1]!] : []));
}

Deno.test("deploy: the unit runs as its own user with raw-socket capabilities only, hardened", () => {
  const service = unitSection(Deno.readTextFileSync(UNIT), "Service");
  const one = (key: string) => service.get(key)?.at(-1);
  assert.equal(one("User"), "packetwave");
  assert.deepEqual(one("AmbientCapabilities")?.split(/\s+/).sort(), [
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
  ]);
  assert.equal(one("CapabilityBoundingSet"), one("AmbientCapabilities"));
  assert.equal(one("NoNewPrivileges"), "yes");
  assert.equal(one("ProtectSystem"), "strict");
  assert.equal(one("Restart"), "on-failure");
  assert.equal(one("KillSignal"), "SIGTERM");
  assert.ok(one("MemoryMax") && one("MemoryHigh"), "memory limits");
  assert.equal(service.get("MemoryDenyWriteExecute"), undefined, "V8 needs W+X memory");
  // Everything the service writes is under its writable directory, what it reads under /etc.
  const writable = one("ReadWritePaths")!.split(/\s+/);
  const exec = one("ExecStart")!;
  const written = [
    ...valueOf(exec, "--record"),
    ...valueOf(exec, "--rotate"),
    ...valueOf(exec, "--export").map((e) => e.slice(e.indexOf(":") + 1)),
  ];
  assert.ok(written.length >= 3);
  for (const path of written) {
    assert.ok(writable.some((w) => path.startsWith(`${w}/`)), `${path} is writable`);
  }
  for (const flag of ["--rules", "--site", "--plugins"]) {
    for (const path of valueOf(exec, flag)) assert.ok(path.startsWith("/etc/packetwave/"), path);
  }
  // The plugins file writes under the same directory.
  const plugins = Deno.readTextFileSync(PLUGINS);
  for (const [, path] of plugins.matchAll(/^\s+(?:dir|file): (\S+)/gm)) {
    assert.ok(writable.some((w) => path!.startsWith(`${w}/`)), `${path} is writable`);
  }
});

Deno.test({
  name: "deploy: systemd accepts the unit",
  ignore: !hasSystemdAnalyze,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // The binaries are not installed here: stand-ins that exist, the rest unchanged.
      const unit = Deno.readTextFileSync(UNIT)
        .replaceAll("/usr/local/bin/packetwave", "/bin/true")
        .replaceAll("/usr/sbin/ip", "/bin/true");
      const copy = join(dir, "packetwave.service");
      await Deno.writeTextFile(copy, unit);
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", copy],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const complaints = (TEXT.decode(out.stdout) + TEXT.decode(out.stderr)).trim();
      assert.equal(complaints, "", complaints);
      assert.ok(out.success);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deploy: the unit and the guide only use options the commands have", async () => {
  const live = await helpOptions("live");
  const analyze = await helpOptions("analyze");
  const rules = await helpOptions("rules");
  assert.ok(live.has("--rotate-size") && analyze.has("--export") && rules.has("--site"));
  const exec = unitSection(Deno.readTextFileSync(UNIT), "Service").get("ExecStart")![0]!;
  for (const flag of flagsOf(exec)) assert.ok(live.has(flag), `unit: ${flag}`);
  const guide = Deno.readTextFileSync(GUIDE).replace(/\\\n\s*/g, " ");
  let checked = 0;
  for (const line of guide.split("\n")) {
    const known = /packetwave live\b/.test(line)
      ? live
      : /packetwave analyze\b/.test(line)
      ? analyze
      : /packetwave rules\b/.test(line)
      ? rules
      : null;
    if (!known) continue;
    for (const flag of flagsOf(line)) {
      assert.ok(known.has(flag), `guide: ${flag} in: ${line.trim()}`);
      checked++;
    }
  }
  assert.ok(checked >= 15, `${checked} options checked`);
});

Deno.test("deploy: the example plugins file loads: built-in names, HEP options accepted", async () => {
  const plugins = await readPluginsFile(PLUGINS);
  assert.ok(plugins.length >= 2);
  for (const p of plugins) assert.ok(BUILTIN_PLUGINS.has(p.use as string), `${p.use}`);
  const hep = plugins.find((p) => p.use === "hep")!;
  const warnings: string[] = [];
  const context: PluginContext = {
    site: null,
    rules: false,
    summary: () => null,
    frame: null,
    legFlags: () => ({ record: null, realCaller: null, realCallee: null }),
    log: () => {},
    warn: (m) => warnings.push(m),
  };
  const plugin = await createHepExporter(hep.options as unknown as HepOptions, context);
  assert.equal(plugin.name, "hep");
  await plugin.close?.();
  assert.deepEqual(warnings, []);
});

Deno.test("deploy: the commented-out examples of the plugins file load too", async () => {
  // Each `# - use:` block of the example, uncommented, with the state directory in a temp dir;
  // site modules (paths) are not in the repository and are left out.
  const lines = (await Deno.readTextFile(PLUGINS)).split("\n");
  const entries: string[][] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    if (/^ {2}# - use: [a-z]+\s*(#.*)?$/.test(line)) entries.push(current = [line.slice(4)]);
    else if (current !== null && /^ {2}# {3}/.test(line)) current.push(line.slice(4));
    else current = null;
  }
  assert.ok(entries.length >= 4, `${entries.length} commented examples`);
  const dir = await Deno.makeTempDir();
  try {
    const yaml = "plugins:\n" +
      entries.map((b) => b.map((l) => `  ${l.replaceAll("/var/lib/packetwave", dir)}`).join("\n"))
        .join("\n") +
      "\n";
    const file = join(dir, "plugins.yaml");
    await Deno.writeTextFile(file, yaml);
    const configs = await readPluginsFile(file);
    assert.deepEqual(
      configs.map((c) => c.use),
      entries.map((b) => b[0]!.match(/use: ([a-z]+)/)![1]),
    );
    const logged: string[] = [];
    const host = await PluginHost.load(new Analyzer(), configs, { log: (l) => logged.push(l) });
    await host.close();
    for (const r of host.reports) assert.equal(r.errors, 0, `${r.name}: ${r.firstError}`);
    assert.deepEqual(logged.filter((l) => /warn|cannot|error/i.test(l)), []);
    const recording = configs.find((c) => c.use === "recording");
    assert.ok(recording, "the recording example is there");
    assert.deepEqual(Object.keys(recording.options ?? {}).sort(), [
      "calls",
      "dir",
      "jitterMs",
      "memory",
      "streams",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
