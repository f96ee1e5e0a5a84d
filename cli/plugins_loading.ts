/**
 * Plugins from the command line: `--record DIR`, `--export KIND:TARGET`
 * (repeatable) and `--plugins FILE` (a YAML list of `{ use, options }`).
 *
 * @module
 */

import type { PluginConfig } from "../plugins/plugin.ts";

/** Export kinds and the option their target fills. */
export const EXPORT_KINDS: ReadonlyMap<string, string> = new Map([
  ["json", "file"],
  ["ndjson", "file"],
  ["csv", "file"],
  ["sqlite", "file"],
  ["pcap", "dir"],
  ["ladder", "dir"],
  ["hep", "address"],
]);

/** A bad plugin argument or plugins file. */
export class PluginArgumentError extends Error {
  /**
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "PluginArgumentError";
  }
}

/**
 * Turns `--export KIND:TARGET` into a plugin config.
 *
 * @param spec Such as `csv:calls.csv`, `ndjson:-` or `hep:10.0.0.5:9060`.
 * @returns The plugin to load.
 * @throws {PluginArgumentError} On an unknown kind or a missing target.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(exportPlugin("csv:calls.csv"), { use: "csv", options: { file: "calls.csv" } });
 * ```
 */
export function exportPlugin(spec: string): PluginConfig {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? "" : spec.slice(colon + 1);
  const option = EXPORT_KINDS.get(kind);
  if (!option) {
    throw new PluginArgumentError(
      `unknown export '${kind}' (known: ${[...EXPORT_KINDS.keys()].join(", ")})`,
    );
  }
  if (target === "") {
    throw new PluginArgumentError(
      `--export ${kind} needs a target: ${kind}:${option.toUpperCase()}`,
    );
  }
  return { use: kind, options: { [option]: target } };
}

/**
 * Reads a plugins file: `plugins: [ { use: NAME-OR-PATH, options: {...} } ]`.
 * Relative module paths are taken relative to the file.
 *
 * @param path The file.
 * @returns The plugins, in order.
 * @throws {PluginArgumentError} When the file is missing or malformed.
 */
export async function readPluginsFile(path: string): Promise<PluginConfig[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new PluginArgumentError(`cannot read plugins file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    // Loaded here: most runs have no plugins file, and the YAML parser takes tens of ms to load.
    const { parse: parseYaml } = await import("yaml");
    doc = parseYaml(text);
  } catch (e) {
    throw new PluginArgumentError(`${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  const list = (doc as { plugins?: unknown } | null)?.plugins;
  if (!Array.isArray(list)) {
    throw new PluginArgumentError(`${path}: expected 'plugins:' with a list`);
  }
  const base = new URL(".", new URL(path, `file://${Deno.cwd()}/`));
  return list.map((entry, i) => {
    const use = (entry as { use?: unknown })?.use;
    const options = (entry as { options?: unknown })?.options ?? {};
    if (typeof use !== "string" || use === "") {
      throw new PluginArgumentError(`${path}: plugin ${i + 1} needs 'use'`);
    }
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new PluginArgumentError(`${path}: plugin ${i + 1}: 'options' must be a map`);
    }
    const module = /[/\\]|\.[cm]?[jt]s$/.test(use) && !/^[a-z]+:/.test(use)
      ? new URL(use, base).pathname
      : use;
    return { use: module, options: options as Record<string, unknown> };
  });
}

/**
 * Collects the plugins the command line asks for.
 *
 * @param values `record`, `export` and `plugins` options.
 * @returns The plugins, in order: the plugins file's, then recording, then exports.
 */
export async function pluginsFromArgs(values: {
  record?: string;
  export?: string[];
  plugins?: string;
}): Promise<PluginConfig[]> {
  const configs: PluginConfig[] = [];
  if (values.plugins) configs.push(...await readPluginsFile(values.plugins));
  if (values.record) configs.push({ use: "recording", options: { dir: values.record } });
  for (const spec of values.export ?? []) configs.push(exportPlugin(spec));
  return configs;
}
