/**
 * The `ndjson` export: one JSON object per line for every event on the bus
 * (per-packet RTP is not on the bus), in the order the events happen,
 * written as they happen — to a file, or to standard output with `-` — in
 * the stable form of {@link serializeEvent} (see SCHEMA.md).
 *
 * `types` limits the output to some event types: exact names
 * (`sip.request`) or a prefix with a star (`call.*`). Subscribing to an
 * event type can make the pipeline build events it would otherwise skip
 * (`rtcp.packet`, `rtp.stream.started`), so narrow lists are cheaper.
 *
 * ```ts
 * import type { PluginConfig } from "../plugin.ts";
 * const config: PluginConfig = {
 *   use: "ndjson",
 *   options: { file: "-", types: ["sip.*", "call.completed"] },
 * };
 * ```
 *
 * @module
 */

import type { PacketwaveEvent, PacketwaveEventType } from "../../engine/events.ts";
import type { Plugin, PluginFactory, PluginHandlers } from "../plugin.ts";
import { optionOf, requireString } from "./common.ts";
import { ALL_EVENT_TYPES, serializeEvent } from "./serialize.ts";
import { TextOutput } from "./text_output.ts";

/** Options of the `ndjson` export. */
export interface NdjsonExportOptions {
  /** File to write, or `-` for standard output. */
  file: string;
  /** Event types to write (`call.*` takes a prefix); all by default. */
  types?: string[];
}

/**
 * Resolves a list of type names and `prefix.*` patterns to event types.
 *
 * @param patterns Names or patterns; `undefined` for all.
 * @returns The event types.
 * @throws {TypeError} On a name that matches no event type.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(selectEventTypes(["rtp.*"]), ["rtp.stream.started", "rtp.stream.ended"]);
 * ```
 */
export function selectEventTypes(patterns: unknown): PacketwaveEventType[] {
  if (patterns === undefined || patterns === null) return [...ALL_EVENT_TYPES];
  if (!Array.isArray(patterns) || patterns.some((p) => typeof p !== "string")) {
    throw new TypeError("ndjson option 'types' must be a list of event type names");
  }
  const selected = new Set<PacketwaveEventType>();
  for (const pattern of patterns as string[]) {
    const matches = pattern.endsWith("*")
      ? ALL_EVENT_TYPES.filter((t) => t.startsWith(pattern.slice(0, -1)))
      : ALL_EVENT_TYPES.filter((t) => t === pattern);
    if (matches.length === 0) {
      throw new TypeError(
        `ndjson option 'types': no event type '${pattern}' (known: ${ALL_EVENT_TYPES.join(", ")})`,
      );
    }
    for (const t of matches) selected.add(t);
  }
  return ALL_EVENT_TYPES.filter((t) => selected.has(t));
}

/**
 * Makes the `ndjson` export.
 *
 * @param options `file` (required; `-` for stdout) and `types`.
 * @param context The plugin context.
 * @returns The plugin.
 */
const ndjsonExport: PluginFactory<NdjsonExportOptions> = (options, context) => {
  const file = requireString(options, "file", "ndjson");
  const types = selectEventTypes(optionOf(options, "types"));
  let failed = false;
  const out = TextOutput.open(file, {
    onError: (error) => {
      failed = true;
      context.warn(`cannot write ${file}: ${(error as Error).message ?? error}`);
    },
  });
  const write = function writeEvent(event: PacketwaveEvent): void {
    if (!failed) out.write(JSON.stringify(serializeEvent(event)) + "\n");
  };
  const on: PluginHandlers = {};
  for (const type of types) (on as Record<string, (e: PacketwaveEvent) => void>)[type] = write;
  const plugin: Plugin = {
    name: "ndjson",
    on,
    close() {
      out.close();
    },
  };
  return plugin;
};

export default ndjsonExport;
