/**
 * `packetwave live --interface IF`: the same pipeline as for files, on live
 * traffic through libpcap. Calls are finalized and exported as they end; a
 * status line shows active calls, packets per second and kernel drops;
 * SIGINT/SIGTERM flush open calls and close every file; edited rule files
 * are reloaded, and a bad edit is rejected with its error while the old
 * rules stay active.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Analyzer } from "../engine/analyzer.ts";
import { LiveCaptureError, LiveSource } from "../engine/capture/live.ts";
import type { SourceSummary } from "../engine/capture/frame.ts";
import type { RotatingPcapWriter } from "../engine/capture/rotating_writer.ts";
import { safeName } from "../plugins/paths.ts";
import { PluginHost, PluginLoadError } from "../plugins/host.ts";
import { PluginArgumentError, pluginsFromArgs } from "./plugins_loading.ts";
import { loadRulesAndSite, printRuleErrors } from "./rules_loading.ts";

const USAGE = `Usage: packetwave live --interface IF [options]

Captures live SIP/RTP through libpcap (root, or CAP_NET_RAW and CAP_NET_ADMIN;
Deno needs --allow-ffi) and runs the full pipeline: calls are classified and
exported as they end.

Options:
  -i, --interface IF     interface name, or 'any' (default any)
  --filter BPF           capture filter (default: all UDP/TCP/SCTP, IP fragments
                         and tunnels, so later fragments of big INVITEs are kept)
  --snaplen N            bytes kept per packet (default 262144)
  --no-promisc           do not put the interface in promiscuous mode
  --rules PATH           rule file or directory (repeatable; default rules/)
  --site FILE            site file (default rules/site.yaml)
  --no-rules             no classification (no logical calls)
  --record DIR           record calls to WAV in DIR
  --export KIND:TARGET   export as calls end (repeatable; see 'analyze --help')
  --plugins FILE         plugins listed in a YAML file
  --rotate DIR           also keep the raw packets in rotating pcap files in DIR
  --rotate-size MB       rotate at this size (default 100)
  --rotate-seconds N     rotate at this age (default 3600)
  --rotate-files N       keep at most N files (default 24)
  --status-seconds N     status line every N seconds (default 10; 0: none)
  --duration S           stop after S seconds (default: run until SIGINT/SIGTERM)
  --no-reload            do not watch rule files for changes`;

/**
 * Runs the live command.
 *
 * @param args Arguments after `live`.
 * @returns The exit code.
 */
export async function liveCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        interface: { type: "string", short: "i", default: "any" },
        filter: { type: "string" },
        snaplen: { type: "string" },
        "no-promisc": { type: "boolean", default: false },
        rules: { type: "string", multiple: true },
        site: { type: "string" },
        "no-rules": { type: "boolean", default: false },
        record: { type: "string" },
        export: { type: "string", multiple: true },
        plugins: { type: "string" },
        rotate: { type: "string" },
        "rotate-size": { type: "string", default: "100" },
        "rotate-seconds": { type: "string", default: "3600" },
        "rotate-files": { type: "string", default: "24" },
        "status-seconds": { type: "string", default: "10" },
        duration: { type: "string" },
        "no-reload": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`packetwave live: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const numbers = {
    snaplen: Number(v.snaplen ?? 262144),
    rotateSize: Number(v["rotate-size"]),
    rotateSeconds: Number(v["rotate-seconds"]),
    rotateFiles: Number(v["rotate-files"]),
    status: Number(v["status-seconds"]),
    duration: v.duration === undefined ? null : Number(v.duration),
  };
  for (const [name, n] of Object.entries(numbers)) {
    if (n !== null && (!Number.isFinite(n) || n < 0)) {
      console.error(`packetwave live: --${name} must be a number ≥ 0`);
      return 2;
    }
  }

  const rulePaths = v.rules ?? [];
  let rules;
  if (!v["no-rules"]) {
    const loaded = await loadRulesAndSite(rulePaths, v.site);
    if (loaded.errors.length > 0) {
      printRuleErrors("live", loaded.errors);
      return 1;
    }
    rules = { rules: loaded.rules, site: loaded.site };
  }
  // Records are exported as calls end; nothing accumulates for a report at exit.
  const analyzer = new Analyzer({ rules, collect: false });
  let host: PluginHost;
  try {
    host = await PluginHost.load(analyzer, await pluginsFromArgs(v), { site: rules?.site ?? null });
  } catch (error) {
    if (!(error instanceof PluginArgumentError || error instanceof PluginLoadError)) throw error;
    console.error(`packetwave live: ${error.message}`);
    return 1;
  }

  const source = new LiveSource({
    interface: v.interface,
    ...(v.filter !== undefined ? { filter: v.filter } : {}),
    snapLen: numbers.snaplen,
    promiscuous: !v["no-promisc"],
  });
  try {
    source.open();
  } catch (error) {
    if (!(error instanceof LiveCaptureError)) throw error;
    console.error(`packetwave live: ${error.message}`);
    await host.close();
    return 1;
  }
  for (const w of source.warnings) console.error(`packetwave live: ${v.interface}: ${w}`);

  let rotating: RotatingPcapWriter | null = null;
  if (v.rotate) {
    const { RotatingPcapWriter } = await import("../engine/capture/rotating_writer.ts");
    rotating = new RotatingPcapWriter({
      dir: v.rotate,
      prefix: `packetwave-${safeName(v.interface)}`,
      onError: (error) => console.error(`packetwave live: rotating capture: ${error.message}`),
      maxBytes: numbers.rotateSize * 1e6,
      maxSeconds: numbers.rotateSeconds,
      maxFiles: numbers.rotateFiles,
      linkType: source.linkType,
      snapLen: numbers.snaplen,
    });
  }

  const stop = () => source.stop();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  const timers: ReturnType<typeof setInterval>[] = [];
  timers.push(setInterval(() => {
    const now = Date.now() / 1000;
    analyzer.tick(now);
    rotating?.tick(now);
  }, 1000));
  let lastFrames = 0;
  if (numbers.status > 0) {
    timers.push(setInterval(() => {
      const p = analyzer.progress;
      const stats = source.stats();
      const rate = (p.frames - lastFrames) / numbers.status;
      lastFrames = p.frames;
      console.error(
        `packetwave live: ${new Date().toISOString()} active legs ${p.legs}, ` +
          `${rate.toFixed(0)} packets/s, ${p.frames} packets, ${p.rtpPackets} RTP, ` +
          `kernel drops ${stats ? stats.dropped + stats.ifDropped : "?"}`,
      );
    }, numbers.status * 1000));
  }
  if (numbers.duration !== null) timers.push(setTimeout(stop, numbers.duration * 1000));
  const watcher = v["no-reload"] || !rules ? null : watchRules(rulePaths, v.site, analyzer);

  let summary: SourceSummary;
  try {
    summary = await source.run({
      onFrame: (frame) => {
        analyzer.onFrame(frame);
        rotating?.write(frame);
      },
      onAnomaly: (a) => analyzer.onSourceAnomaly(a),
    });
  } finally {
    for (const t of timers) clearInterval(t);
    for (const s of signals) Deno.removeSignalListener(s, stop);
    watcher?.close();
  }
  const stats = source.stats();
  source.close();
  const report = analyzer.report();
  await host.close();
  await rotating?.close();
  console.error(
    `packetwave live: stopped: ${summary.frames} packets, ${report.summary.sip.messages} SIP messages, ` +
      `${report.summary.media.rtpPackets} RTP packets, kernel drops ${
        stats ? stats.dropped + stats.ifDropped : "?"
      }${
        rotating && rotating.stats.dropped > 0
          ? `, ${rotating.stats.dropped} packets not kept in the rotating capture (disk too slow)`
          : ""
      }`,
  );
  for (const p of host.reports) {
    if (p.errors > 0) {
      console.error(
        `packetwave live: plugin ${p.name} failed ${p.errors} time(s): ${p.firstError}`,
      );
    }
  }
  return 0;
}

/**
 * Watches rule files and the site file; on a change, loads them again and
 * swaps them in — or, when the new files have a mistake, logs it and keeps
 * the rules that run.
 */
function watchRules(
  rulePaths: string[],
  sitePath: string | undefined,
  analyzer: Analyzer,
): { close(): void } {
  const paths = [
    ...(rulePaths.length > 0 ? rulePaths : [new URL("../rules/", import.meta.url).pathname]),
    ...(sitePath ? [sitePath] : []),
  ];
  const watcher = Deno.watchFs(paths);
  let timer: ReturnType<typeof setTimeout> | null = null;
  const reload = async () => {
    const loaded = await loadRulesAndSite(rulePaths, sitePath);
    if (loaded.errors.length > 0) {
      printRuleErrors("live", loaded.errors);
      console.error(
        "packetwave live: rule files have mistakes; the rules already running stay active",
      );
      return;
    }
    analyzer.rules?.setRules(loaded.rules, loaded.site);
    console.error(`packetwave live: reloaded ${loaded.rules.length} rules`);
  };
  (async () => {
    try {
      for await (const event of watcher) {
        if (!event.paths.some((p) => /\.ya?ml$/.test(p))) continue;
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(() => void reload(), 300); // editors write in several steps
      }
    } catch {
      // closed
    }
  })();
  return {
    close() {
      if (timer !== null) clearTimeout(timer);
      watcher.close();
    },
  };
}
