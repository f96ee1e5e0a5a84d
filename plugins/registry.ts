/**
 * The built-in plugins, by the name a plugins file or the CLI uses. Each
 * is loaded only when asked for.
 *
 * @module
 */

import type { PluginFactory } from "./plugin.ts";

/** Loads a built-in plugin's factory. */
export type FactoryLoader = () => Promise<PluginFactory<never>>;

/** Built-in plugins: name → loader of its factory (each module's default export). */
export const BUILTIN_PLUGINS: ReadonlyMap<string, FactoryLoader> = new Map<string, FactoryLoader>([
  ["recording", async () => (await import("./recording/recording.ts")).default],
  ["json", async () => (await import("./export/json.ts")).default],
  ["ndjson", async () => (await import("./export/ndjson.ts")).default],
  ["csv", async () => (await import("./export/csv.ts")).default],
  ["sqlite", async () => (await import("./export/sqlite.ts")).default],
  ["pcap", async () => (await import("./export/pcap.ts")).default],
  ["ladder", async () => (await import("./export/ladder.ts")).default],
  ["hep", async () => (await import("./export/hep.ts")).default],
]);
