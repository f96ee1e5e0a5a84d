/**
 * The plugin API. A plugin is a factory: options and a context in, a small
 * named object out, with handlers for the events it wants, an explicit
 * per-RTP-packet hook when it needs single packets (recording), and a close
 * step. The host catches whatever a plugin throws, reports it with the
 * plugin's name, and goes on with the analysis and the other plugins.
 *
 * ```ts
 * import type { PluginFactory } from "./plugin.ts";
 * export const countCalls: PluginFactory<{ label?: string }> = (options, context) => {
 *   let calls = 0;
 *   return {
 *     name: "count-calls",
 *     on: { "call.completed": () => void calls++ },
 *     close: () => context.log(`${options.label ?? "calls"}: ${calls}`),
 *   };
 * };
 * ```
 *
 * @module
 */

import type { Frame } from "../engine/capture/frame.ts";
import type { RtpPacketListener } from "../engine/calls/media.ts";
import type { EventOf } from "../engine/event_bus.ts";
import type { PacketwaveEventType } from "../engine/events.ts";
import type { Site } from "../engine/rules/site.ts";
import type { AnalysisSummary } from "../engine/summary.ts";

/** Event handlers by event type. */
export type PluginHandlers = { [T in PacketwaveEventType]?: (event: EventOf<T>) => void };

/** What a plugin gets from the host. */
export interface PluginContext {
  /** The site the analysis runs with (`null` without rules). */
  readonly site: Site | null;
  /** Whether scenario rules run: logical calls will be published (`logical.completed`). */
  readonly rules: boolean;
  /**
   * The analysis summary (packets, SIP and media counts, inputs), once the
   * input has ended (in `close`); `null` before.
   */
  summary(): AnalysisSummary | null;
  /**
   * The frame being processed, during handlers called while a packet is
   * handled (SIP events, RTP packets); `null` otherwise. Its bytes are only
   * valid during the call.
   */
  readonly frame: Frame | null;
  /**
   * What rules derived for a leg so far: whether to record it, and its real
   * parties (all `null` without rules or before any rule set them).
   */
  legFlags(
    legId: string,
  ): { record: boolean | null; realCaller: string | null; realCallee: string | null };
  /** Writes a line for the user (stderr), prefixed with the plugin's name. */
  log(message: string): void;
  /** Reports a problem the plugin stepped over: counted in the report under the plugin's name. */
  warn(message: string): void;
}

/** A running plugin. */
export interface Plugin {
  /** Name used in reports and errors. */
  readonly name: string;
  /** Handlers of the events it wants. */
  readonly on?: PluginHandlers;
  /** Called for every RTP packet of a stream: only for plugins that need single packets. */
  readonly rtp?: RtpPacketListener;
  /** Called once when the input ends (after every call and stream is flushed). */
  close?(): void | Promise<void>;
}

/** Makes a plugin from its options. */
export type PluginFactory<Options = Record<string, unknown>> = (
  options: Options,
  context: PluginContext,
) => Plugin | Promise<Plugin>;

/** How a plugins file (or the CLI) names a plugin to load. */
export interface PluginConfig {
  /**
   * A built-in plugin's name, a path or URL to a module whose default
   * export is a factory, or (from code) the factory itself.
   */
  use: string | PluginFactory<never>;
  /** Options passed to the factory. */
  options?: Record<string, unknown>;
}

/** What the report says about a plugin. */
export interface PluginReport {
  /** Plugin name. */
  name: string;
  /** Errors thrown by its handlers. */
  errors: number;
  /** The first error's message. */
  firstError: string | null;
  /** Problems it reported with `warn`. */
  warnings: number;
  /** Whether the host stopped calling it after too many errors. */
  disabled: boolean;
}
