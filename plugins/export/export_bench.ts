/**
 * The cost of each export on a large capture: the whole analysis with the
 * shipped rules, alone and with one export plugin (or all of them), each
 * measurement in its own process so peak memory is its own.
 *
 * ```sh
 * deno run -A tools/synth/bench_capture.ts bench/out/bench-1000x12s-c60.pcap   # once
 * deno run -A plugins/export/export_bench.ts bench/out/bench-1000x12s-c60.pcap [--runs 2]
 * deno run -A plugins/export/export_bench.ts --one MODE FILE OUTDIR            # one measurement
 * ```
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Analyzer } from "../../engine/analyzer.ts";
import { loadRules } from "../../engine/rules/rule_set.ts";
import { loadSite } from "../../engine/rules/site.ts";
import { PluginHost } from "../host.ts";
import type { Plugin, PluginConfig, PluginFactory, PluginHandlers } from "../plugin.ts";
import { BUILTIN_PLUGINS } from "../registry.ts";

/** Measurements: no export, each export alone, all of them. */
export const EXPORT_BENCH_MODES = [
  "none",
  "json",
  "ndjson",
  "csv",
  "sqlite",
  "pcap",
  "ladder",
  "all",
] as const;

/** One measurement. */
export interface ExportMeasurement {
  /** What ran. */
  mode: string;
  /** Wall-clock seconds of the analysis and the plugin's close (start-up excluded). */
  seconds: number;
  /** CPU seconds (user and system) over the same span. */
  cpuSeconds: number;
  /** Seconds spent inside the exports' own code: factory, handlers, packet hook, close. */
  pluginSeconds: number;
  /** Peak resident memory of the process, MB (VmHWM). */
  peakMB: number;
  /** Bytes the export wrote. */
  outputBytes: number;
  /** Files it wrote. */
  outputFiles: number;
}

function plugins(mode: string, out: string): PluginConfig[] {
  const all: Record<string, PluginConfig> = {
    json: { use: "json", options: { file: `${out}/report.json` } },
    ndjson: { use: "ndjson", options: { file: `${out}/events.ndjson` } },
    csv: { use: "csv", options: { file: `${out}/calls.csv` } },
    sqlite: { use: "sqlite", options: { file: `${out}/calls.db` } },
    pcap: { use: "pcap", options: { dir: `${out}/pcap` } },
    ladder: { use: "ladder", options: { dir: `${out}/ladder` } },
  };
  if (mode === "none") return [];
  if (mode === "all") return Object.values(all);
  const one = all[mode];
  if (!one) throw new Error(`unknown mode ${mode}`);
  return [one];
}

function peakResidentMB(): number {
  try {
    const match = Deno.readTextFileSync("/proc/self/status").match(/^VmHWM:\s+(\d+) kB/m);
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function usage(path: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for await (const entry of Deno.readDir(path)) {
    const full = `${path}/${entry.name}`;
    if (entry.isDirectory) {
      const sub = await usage(full);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      bytes += (await Deno.stat(full)).size;
      files++;
    }
  }
  return { bytes, files };
}

/**
 * Wraps a built-in plugin so the time spent in its code is added to a clock.
 *
 * @param name Built-in plugin name.
 * @param clock Milliseconds accumulated.
 * @returns A factory of the timed plugin.
 */
function timed(name: string, clock: { ms: number }): PluginFactory {
  return async function timedFactory(options, context): Promise<Plugin> {
    const factory = (await BUILTIN_PLUGINS.get(name)!()) as PluginFactory;
    let t = performance.now();
    const plugin = await factory(options, context);
    clock.ms += performance.now() - t;
    const on: Record<string, (e: never) => void> = {};
    for (const [type, handler] of Object.entries(plugin.on ?? {})) {
      const h = handler as (e: never) => void;
      on[type] = (e: never) => {
        const t0 = performance.now();
        try {
          h(e);
        } finally {
          clock.ms += performance.now() - t0;
        }
      };
    }
    const rtp = plugin.rtp;
    return {
      name: plugin.name,
      on: on as PluginHandlers,
      rtp: rtp
        ? (stream, header, bytes, arrival) => {
          const t0 = performance.now();
          try {
            rtp(stream, header, bytes, arrival);
          } finally {
            clock.ms += performance.now() - t0;
          }
        }
        : undefined,
      close: async () => {
        t = performance.now();
        await plugin.close?.();
        clock.ms += performance.now() - t;
      },
    };
  };
}

async function measureOne(mode: string, file: string, out: string): Promise<ExportMeasurement> {
  const { site } = await loadSite();
  const { rules } = await loadRules([], site);
  const t0 = performance.now();
  const c0 = cpuUsage();
  const analyzer = new Analyzer({ rules: { rules, site } });
  const clock = { ms: 0 };
  const configs = plugins(mode, out).map((c) => ({ ...c, use: timed(c.use as string, clock) }));
  const host = await PluginHost.load(analyzer, configs, { site });
  if (!(await analyzer.analyzeFile(file))) throw new Error(`cannot read ${file}`);
  const report = analyzer.report();
  if (report.summary.inputs[0]?.error) throw new Error(report.summary.inputs[0].error);
  await host.close();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuUsage(c0);
  for (const r of host.reports) {
    if (r.errors > 0) throw new Error(`${r.name}: ${r.errors} errors, first: ${r.firstError}`);
  }
  const { bytes, files } = await usage(out);
  return {
    mode,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    pluginSeconds: clock.ms / 1000,
    peakMB: peakResidentMB(),
    outputBytes: bytes,
    outputFiles: files,
  };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { one: { type: "string" }, runs: { type: "string", default: "2" } },
  });
  if (values.one) {
    const [file, out] = positionals;
    console.log(JSON.stringify(await measureOne(values.one, file!, out!)));
  } else {
    const file = positionals[0];
    if (!file) {
      console.error("usage: export_bench.ts CAPTURE [--runs N]");
      Deno.exit(2);
    }
    const runs = Number(values.runs);
    // Rounds of every mode in turn, so drift in the machine's load spreads over all of them.
    const best = new Map<string, ExportMeasurement>();
    for (let round = 0; round < runs; round++) {
      for (const mode of EXPORT_BENCH_MODES) {
        const out = await Deno.makeTempDir({ dir: ".", prefix: ".export-bench-" });
        try {
          const child = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", new URL(import.meta.url).pathname, "--one", mode, file, out],
            stdout: "piped",
            stderr: "inherit",
          }).output();
          if (!child.success) throw new Error(`measurement ${mode} failed`);
          const m = JSON.parse(new TextDecoder().decode(child.stdout)) as ExportMeasurement;
          console.error(JSON.stringify(m));
          const previous = best.get(mode);
          best.set(mode, {
            ...m,
            seconds: Math.min(m.seconds, previous?.seconds ?? Infinity),
            cpuSeconds: Math.min(m.cpuSeconds, previous?.cpuSeconds ?? Infinity),
            pluginSeconds: Math.min(m.pluginSeconds, previous?.pluginSeconds ?? Infinity),
            peakMB: Math.max(m.peakMB, previous?.peakMB ?? 0),
          });
        } finally {
          await Deno.remove(out, { recursive: true });
        }
      }
    }
    const base = best.get("none")!;
    console.log(
      "| export | wall s | + wall s | CPU s | + CPU s | in export s | peak MB | output MB | files |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const mode of EXPORT_BENCH_MODES) {
      const r = best.get(mode)!;
      console.log(
        `| ${r.mode} | ${r.seconds.toFixed(2)} | ${(r.seconds - base.seconds).toFixed(2)} | ${
          r.cpuSeconds.toFixed(2)
        } | ${(r.cpuSeconds - base.cpuSeconds).toFixed(2)} | ${r.pluginSeconds.toFixed(2)} | ${
          r.peakMB.toFixed(0)
        } | ${(r.outputBytes / 1e6).toFixed(1)} | ${r.outputFiles} |`,
      );
    }
  }
}
