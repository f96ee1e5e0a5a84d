/**
 * The `ladder` export: a call-flow (ladder) diagram per logical call (or per
 * call leg, without rules), written when the call is complete as
 * `YYYYMMDD-HHMMSS_<id>.html` (self-contained HTML with inline SVG) or
 * `.svg` with `format: "svg"`. See `ladder_render.ts` for what it shows.
 *
 * While a leg is active only small summaries of its messages are kept
 * (addresses, method or status, CSeq, SDP direction), at most
 * {@link LADDER_MAX_MESSAGES_PER_LEG} per leg; the rest are counted.
 *
 * ```ts
 * import type { PluginConfig } from "../plugin.ts";
 * const config: PluginConfig = { use: "ladder", options: { dir: "flows/", format: "html" } };
 * ```
 *
 * @module
 */

import type { CallLeg, HoldInterval } from "../../engine/calls/leg.ts";
import type { Endpoint, SipRequestEvent, SipResponseEvent } from "../../engine/events.ts";
import type { LogicalLeg } from "../../engine/rules/logical_calls.ts";
import { join, safeName } from "../paths.ts";
import type { Plugin, PluginFactory } from "../plugin.ts";
import { fileStamp, optionOf, requireString, rulesRunning } from "./common.ts";
import {
  type LadderCall,
  type LadderLeg,
  type LadderMessage,
  type LadderStream,
  renderLadderHtml,
  renderLadderSvgDocument,
} from "./ladder_render.ts";
import { SipLegRouter } from "./leg_router.ts";

/** Messages kept per leg; later ones are counted, not drawn. */
export const LADDER_MAX_MESSAGES_PER_LEG = 1000;

/** Diagrams written in the background at once; past it they are written before going on. */
export const LADDER_PENDING_WRITES = 32;

/** Options of the `ladder` export. */
export interface LadderExportOptions {
  /** Directory of the diagrams (created when absent). */
  dir: string;
  /** `html` (default) or `svg`. */
  format?: "html" | "svg";
  /** Wait for logical calls (default: when the host was given a site, i.e. rules run). */
  logical?: boolean;
}

/** What is kept of a leg until its call is drawn. */
interface LegState {
  messages: LadderMessage[];
  dropped: number;
  streams: LadderStream[];
  /** Set when the leg completed. */
  done: {
    startTs: number;
    callerAddress: string;
    calleeAddress: string;
    callerUser: string | null;
    calleeUser: string | null;
    callerName: string | null;
    calleeName: string | null;
    userAgents: { caller: string | null; callee: string | null };
    state: string;
    holds: HoldInterval[];
  } | null;
}

/**
 * An address as the diagram labels it.
 *
 * @param e An endpoint.
 * @returns `ip:port`, or `[ip]:port` for IPv6.
 */
export function addressText(e: Endpoint): string {
  return e.ip.includes(":") ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

const SDP_DIRECTION = /^a=(sendonly|recvonly|inactive)\s*$/m;
const NULL_ADDRESS = /^c=IN IP[46] (0\.0\.0\.0|::)\s*$/m;

/**
 * The summary of a SIP message for the diagram.
 *
 * @param e A SIP event.
 * @returns Its summary.
 */
export function summarizeMessage(e: SipRequestEvent | SipResponseEvent): LadderMessage {
  const m = e.message;
  let sdp = "";
  if (m.body.length > 0 && (m.contentType === "application/sdp" || m.parts.length > 0)) {
    const part = m.contentType === "application/sdp"
      ? m.body
      : m.parts.find((p) => p.contentType === "application/sdp")?.body;
    if (part) {
      const text = new TextDecoder().decode(part.subarray(0, 4096));
      const direction = SDP_DIRECTION.exec(text)?.[1];
      sdp = NULL_ADDRESS.test(text) ? "SDP hold (0.0.0.0)" : direction ? `SDP ${direction}` : "SDP";
    }
  }
  return {
    ts: e.ts,
    src: addressText(e.src),
    dst: addressText(e.dst),
    label: m.kind === "request" ? m.method : `${m.status} ${m.reason}`.trim(),
    cseq: m.cseq ? `${m.cseq.seq} ${m.cseq.method}` : "",
    sdp,
    request: m.kind === "request",
  };
}

/**
 * Makes the `ladder` export.
 *
 * @param options `dir` (required), `format`, `logical`.
 * @param context The plugin context.
 * @returns The plugin.
 */
const ladderExport: PluginFactory<LadderExportOptions> = async (options, context) => {
  const dir = requireString(options, "dir", "ladder");
  const format = optionOf(options, "format") ?? "html";
  if (format !== "html" && format !== "svg") {
    throw new TypeError(
      `ladder option 'format' must be "html" or "svg", not ${JSON.stringify(format)}`,
    );
  }
  const logical = rulesRunning(context, optionOf(options, "logical"));
  await Deno.mkdir(dir, { recursive: true });
  const servers = context.site?.settings.servers ?? [];
  const legs = new Map<string, LegState>();
  const usedNames = new Set<string>();
  const files: string[] = [];

  const stateOf = (legId: string): LegState => {
    let s = legs.get(legId);
    if (!s) legs.set(legId, s = { messages: [], dropped: 0, streams: [], done: null });
    return s;
  };

  const router = new SipLegRouter<LadderMessage>((legId, message) => {
    const s = legs.get(legId);
    if (!s || s.done) return;
    if (s.messages.length < LADDER_MAX_MESSAGES_PER_LEG) s.messages.push(message);
    else s.dropped++;
  });

  const onSip = (e: SipRequestEvent | SipResponseEvent) => {
    const register = e.message.kind === "request" && e.message.method.toUpperCase() === "REGISTER";
    if (register || e.message.callId === "") {
      router.resolve(); // never part of a leg: no summary needed
      return;
    }
    router.message(e.message.callId, false, context.frame, summarizeMessage(e));
  };

  const legOf = (id: string, s: LegState, entry: LogicalLeg | null): LadderLeg => {
    const d = s.done!;
    return {
      id,
      callerAddress: d.callerAddress,
      calleeAddress: d.calleeAddress,
      callerParty: entry?.parties.caller ?? d.callerUser,
      calleeParty: entry?.parties.callee ?? d.calleeUser,
      callerName: d.callerName,
      calleeName: d.calleeName,
      userAgents: d.userAgents,
      state: d.state,
      relations: entry?.relations.map((r) => `${r.relation} ${r.to}`) ?? [],
      holds: d.holds,
      messages: s.messages,
      dropped: s.dropped,
      streams: s.streams,
    };
  };

  /** Diagrams being written in the background (at most {@link LADDER_PENDING_WRITES}). */
  const writing = new Set<Promise<void>>();
  const failed = (id: string, error: unknown) =>
    context.warn(`cannot write the diagram of ${id}: ${(error as Error).message}`);

  const draw = function drawCall(call: LadderCall): void {
    let path: string;
    let text: string;
    try {
      const base = `${fileStamp(call.startTs)}_${safeName(call.id, 80)}`;
      let name = base;
      for (let n = 2; usedNames.has(name); n++) name = `${base}_${n}`;
      usedNames.add(name);
      path = join(dir, `${name}.${format}`);
      text = format === "svg" ? renderLadderSvgDocument(call) : renderLadderHtml(call);
    } catch (error) {
      return failed(call.id, error);
    }
    files.push(path);
    if (writing.size >= LADDER_PENDING_WRITES) {
      // The disk is behind: write this one now, so pending text stays bounded.
      try {
        Deno.writeTextFileSync(path, text);
      } catch (error) {
        failed(call.id, error);
      }
      return;
    }
    const pending: Promise<void> = Deno.writeTextFile(path, text)
      .catch((error) => failed(call.id, error))
      .finally(() => writing.delete(pending));
    writing.add(pending);
  };

  const completeLeg = (leg: CallLeg) => {
    router.completed(leg, context.frame);
    const s = stateOf(leg.id);
    s.done = {
      startTs: leg.startTs,
      callerAddress: addressText(leg.callerAddress),
      calleeAddress: addressText(leg.calleeAddress),
      callerUser: leg.caller.user,
      calleeUser: leg.callee.user,
      callerName: leg.caller.displayName,
      calleeName: leg.callee.displayName,
      userAgents: { ...leg.userAgents },
      state: leg.state,
      holds: leg.holds.map((h) => ({ ...h })),
    };
    if (logical) return;
    legs.delete(leg.id);
    const flags = context.legFlags(leg.id);
    draw({
      id: leg.id,
      scenarios: [],
      caller: flags.realCaller ?? leg.caller.user,
      callee: flags.realCallee ?? leg.callee.user,
      startTs: leg.startTs,
      legs: [legOf(leg.id, s, null)],
      servers,
    });
  };

  const plugin: Plugin & { files: string[] } = {
    name: "ladder",
    files,
    on: {
      "sip.request": function sipRequest(e) {
        onSip(e);
      },
      "sip.response": function sipResponse(e) {
        onSip(e);
      },
      "call.started": function legStarted(e) {
        router.started(e.leg);
        stateOf(e.leg.id);
      },
      "rtp.stream.ended": function streamEnded(e) {
        const st = e.stream;
        if (st.legId === null) return;
        const s = legs.get(st.legId);
        if (!s || st.packets === 0) return;
        s.streams.push({
          src: addressText(st.src),
          dst: addressText(st.dst),
          codecs: [...st.codecs],
          packets: st.packets,
          lost: st.lost,
          lossPercent: st.lostPercent,
          firstTs: st.firstArrival,
          lastTs: st.lastArrival,
          direction: st.direction,
        });
      },
      "call.completed": function legCompleted(e) {
        completeLeg(e.leg);
      },
      "logical.completed": function logicalCompleted(e) {
        const c = e.call;
        const drawn: LadderLeg[] = [];
        for (const entry of c.legs) {
          const s = legs.get(entry.id);
          if (!s?.done) continue;
          legs.delete(entry.id);
          drawn.push(legOf(entry.id, s, entry));
        }
        if (drawn.length === 0) return;
        draw({
          id: c.id,
          scenarios: c.scenarios,
          caller: c.caller,
          callee: c.callee,
          startTs: c.startTs,
          legs: drawn,
          servers,
        });
      },
    },
    async close() {
      router.resolve();
      // Legs no logical call claimed (none when the analysis ran to its end).
      for (const [id, s] of legs) {
        if (!s.done) continue;
        draw({
          id,
          scenarios: [],
          caller: s.done.callerUser,
          callee: s.done.calleeUser,
          startTs: s.done.startTs,
          legs: [legOf(id, s, null)],
          servers,
        });
      }
      legs.clear();
      while (writing.size > 0) await Promise.all([...writing]);
    },
  };
  return plugin;
};

export default ladderExport;
