/**
 * Runs plugins beside an analysis: subscribes their handlers to the event
 * bus and their packet hooks to the media stage, and isolates them — an
 * error is counted and reported under the plugin's name, and a plugin that
 * keeps failing is switched off, while the analysis and the other plugins go on.
 *
 * @module
 */

import { isAbsolute, resolve, toFileUrl } from "./paths.ts";
import type { Analyzer } from "../engine/analyzer.ts";
import type { PacketwaveEvent } from "../engine/events.ts";
import type { Site } from "../engine/rules/site.ts";
import type { Plugin, PluginConfig, PluginContext, PluginFactory, PluginReport } from "./plugin.ts";
import { BUILTIN_PLUGINS } from "./registry.ts";

/** Options of a {@link PluginHost}. */
export interface PluginHostOptions {
  /** The site, passed to plugins. */
  site?: Site | null;
  /** Errors after which a plugin is switched off (default 100). */
  maxErrors?: number;
  /** Where plugin log lines go (default stderr). */
  log?: (line: string) => void;
}

interface Loaded {
  plugin: Plugin;
  report: PluginReport;
}

/** A plugin's module could not be loaded or its factory failed. */
export class PluginLoadError extends Error {
  /** What was asked for (`use`). */
  readonly use: string;

  /**
   * @param use The plugin name or path.
   * @param reason What went wrong.
   */
  constructor(use: string, reason: string) {
    super(`Cannot load plugin ${use}: ${reason}`);
    this.name = "PluginLoadError";
    this.use = use;
  }
}

/** The plugins of one analysis. */
export class PluginHost {
  readonly #loaded: Loaded[] = [];
  readonly #maxErrors: number;

  private constructor(maxErrors: number) {
    this.#maxErrors = maxErrors;
  }

  /**
   * Loads plugins and attaches them to an analyzer.
   *
   * @param analyzer The analyzer whose events and packets the plugins get.
   * @param configs Plugins to load, in order.
   * @param options Site, error limit and log.
   * @returns The host.
   * @throws {PluginLoadError} When a plugin cannot be found or built.
   */
  static async load(
    analyzer: Analyzer,
    configs: PluginConfig[],
    options: PluginHostOptions = {},
  ): Promise<PluginHost> {
    const host = new PluginHost(options.maxErrors ?? 100);
    const log = options.log ?? ((line: string) => console.error(line));
    analyzer.bus.onError = (error, owner, event) => host.#failed(owner, error, event);
    for (const config of configs) {
      const factory = typeof config.use === "function"
        ? config.use as PluginFactory
        : await resolveFactory(config.use);
      const label = typeof config.use === "function" ? config.use.name || "plugin" : config.use;
      const name = { current: label };
      const report: PluginReport = {
        name: label,
        errors: 0,
        firstError: null,
        warnings: 0,
        disabled: false,
      };
      const context: PluginContext = {
        site: options.site ?? null,
        rules: analyzer.rules !== null,
        summary: () => analyzer.finishedSummary,
        get frame() {
          return analyzer.currentFrame;
        },
        legFlags: (legId) => {
          const d = analyzer.rules?.logical.peekDerived(legId);
          return {
            record: d?.record ?? null,
            realCaller: d?.realCaller ?? null,
            realCallee: d?.realCallee ?? null,
          };
        },
        log: (message) => log(`${name.current}: ${message}`),
        warn: (message) => {
          report.warnings++;
          if (report.warnings <= 10) log(`${name.current}: warning: ${message}`);
        },
      };
      let plugin: Plugin;
      try {
        plugin = await factory(config.options ?? {}, context);
      } catch (error) {
        throw new PluginLoadError(label, (error as Error).message ?? String(error));
      }
      name.current = plugin.name;
      report.name = plugin.name;
      host.#loaded.push({ plugin, report });
      host.#attach(analyzer, plugin, report);
    }
    return host;
  }

  /** What each plugin did: errors, warnings, whether it was switched off. */
  get reports(): PluginReport[] {
    return this.#loaded.map((l) => ({ ...l.report }));
  }

  /** Closes every plugin (each may write its files now); errors are reported, not thrown. */
  async close(): Promise<void> {
    for (const { plugin, report } of this.#loaded) {
      if (report.disabled || !plugin.close) continue;
      try {
        await plugin.close();
      } catch (error) {
        this.#count(report, error);
      }
    }
  }

  #attach(analyzer: Analyzer, plugin: Plugin, report: PluginReport): void {
    for (const [type, handler] of Object.entries(plugin.on ?? {})) {
      if (typeof handler !== "function") continue;
      analyzer.bus.on(type as PacketwaveEvent["type"], (event) => {
        if (!report.disabled) (handler as (e: PacketwaveEvent) => void)(event);
      }, plugin.name);
    }
    const rtp = plugin.rtp;
    if (rtp) {
      analyzer.media.onRtpPacket((stream, header, bytes, arrival) => {
        if (report.disabled) return;
        try {
          rtp(stream, header, bytes, arrival);
        } catch (error) {
          this.#count(report, error);
        }
      });
    }
  }

  #failed(owner: string, error: unknown, event: PacketwaveEvent): void {
    const loaded = this.#loaded.find((l) => l.plugin.name === owner);
    if (!loaded) throw error; // not a plugin's: a bug of ours that must surface
    this.#count(loaded.report, error, event.type);
  }

  #count(report: PluginReport, error: unknown, during?: string): void {
    report.errors++;
    if (report.firstError === null) {
      const message = error instanceof Error ? error.message : String(error);
      report.firstError = during ? `${message} (on ${during})` : message;
    }
    if (report.errors >= this.#maxErrors) report.disabled = true;
  }
}

async function resolveFactory(use: string): Promise<PluginFactory> {
  const builtin = BUILTIN_PLUGINS.get(use);
  if (builtin) return (await builtin()) as PluginFactory;
  if (!/[/\\]|\.[cm]?[jt]s$/.test(use)) {
    throw new PluginLoadError(
      use,
      `no built-in plugin of that name (built-in: ${[...BUILTIN_PLUGINS.keys()].join(", ")})`,
    );
  }
  const url = /^[a-z]+:/.test(use) ? use : toFileUrl(isAbsolute(use) ? use : resolve(use)).href;
  let module: { default?: unknown };
  try {
    module = await import(url);
  } catch (error) {
    throw new PluginLoadError(use, (error as Error).message);
  }
  if (typeof module.default !== "function") {
    throw new PluginLoadError(use, "the module's default export must be a plugin factory function");
  }
  return module.default as PluginFactory;
}
