/**
 * The `pcap` export: per-call pcap extraction. The SIP and RTP frames of one
 * logical call (or of one call leg, without rules) go to their own file,
 * `YYYYMMDD-HHMMSS_<id>.pcap` — the call's start in UTC and its id made
 * safe for a file name ({@link safeName}; a Call-ID can be `../../x`).
 *
 * How frames are found: SIP frames are taken from `context.frame` in the
 * `sip.request` / `sip.response` handlers and filed under the leg their
 * Call-ID belongs to ({@link SipLegRouter}: the same choice the call
 * tracker makes); RTP frames are taken in the per-packet hook, by the
 * stream's leg. Each leg's frames are spooled to a temporary file while the
 * capture is read (see `spool.ts`: bounded memory), and merged by time into
 * the call's file when the call is complete (`logical.completed`, or
 * `call.completed` without rules); the spools are then deleted.
 *
 * Link types: a call whose frames all have one link type (the usual case)
 * is written as classic pcap with that link type. A call whose frames come
 * from interfaces of different link types is written as pcapng
 * (`.pcapng`), with one interface per link type.
 *
 * Limits: a SIP message over TCP is extracted as the frame that completed
 * it (earlier segments of a message spread over several are not); RTP
 * carried in IP fragments, and RTP replayed after the RTP heuristic or
 * a late SDP bound its flow, is not extracted (counted as `skippedRtp`).
 *
 * ```ts
 * import type { PluginConfig } from "../plugin.ts";
 * const config: PluginConfig = { use: "pcap", options: { dir: "calls/" } };
 * ```
 *
 * @module
 */

import type { CallLeg } from "../../engine/calls/leg.ts";
import type { Frame } from "../../engine/capture/frame.ts";
import { PcapWriter } from "../../engine/capture/pcap_writer.ts";
import { PcapngWriter } from "../../engine/capture/pcapng_writer.ts";
import { join, safeName } from "../paths.ts";
import type { Plugin, PluginFactory } from "../plugin.ts";
import { fileStamp, optionOf, requireString, rulesRunning } from "./common.ts";
import { SipLegRouter } from "./leg_router.ts";
import { type FrameSpool, SpoolReader, SpoolStore } from "./spool.ts";

/** Options of the `pcap` export. */
export interface PcapExportOptions {
  /** Directory of the per-call files (created when absent). */
  dir: string;
  /** Where spool files go while reading (default a hidden directory inside `dir`). */
  spoolDir?: string;
  /** Wait for logical calls (default: when the host was given a site, i.e. rules run). */
  logical?: boolean;
}

/** What the export did, for tests and reports. */
export interface PcapExportStats {
  /** Files written. */
  files: string[];
  /** Frames written over all files. */
  frames: number;
  /** RTP packets that could not be extracted (fragmented or replayed). */
  skippedRtp: number;
  /** SIP messages seen without a frame (none when reading captures). */
  skippedSip: number;
}

/** A SIP frame copied out of the capture buffer, shared by the messages it carries. */
interface FrameCopy {
  ts: number;
  seq: number;
  linkType: number;
  origLen: number;
  data: Uint8Array;
}

/** A call to write: its id, start and the spools of its legs. */
interface MergeJob {
  id: string;
  startTs: number;
  spools: FrameSpool[];
}

/**
 * Merges spools by time into one capture file: pcap when every frame has
 * the same link type, else pcapng with one interface per link type.
 *
 * @param spools The spools (finished).
 * @param pathWithoutExtension Output path; `.pcap` or `.pcapng` is added.
 * @returns The path written and the frames in it, or `null` when there was no frame.
 */
export async function mergeSpools(
  spools: readonly FrameSpool[],
  pathWithoutExtension: string,
): Promise<{ path: string; frames: number } | null> {
  const linkTypes = new Set<number>();
  for (const s of spools) for (const t of s.linkTypes) linkTypes.add(t);
  if (linkTypes.size === 0) return null;
  const readers: SpoolReader[] = [];
  try {
    for (const s of spools) readers.push(await SpoolReader.open(s));
    const live: SpoolReader[] = [];
    for (const r of readers) if (await r.next()) live.push(r);
    const single = linkTypes.size === 1;
    const path = `${pathWithoutExtension}${single ? ".pcap" : ".pcapng"}`;
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    let frames = 0;
    if (single) {
      const writer = new PcapWriter(file, { linkType: [...linkTypes][0]! });
      while (live.length > 0) {
        const i = earliest(live);
        const c = live[i]!.current;
        await writer.writePacket(c.ts, c.data, Math.max(c.origLen, c.data.length));
        frames++;
        if (!(await live[i]!.next())) live.splice(i, 1);
      }
      await writer.close();
    } else {
      const writer = new PcapngWriter(file, {
        section: { application: "packetwave (per-call extraction)" },
      });
      const interfaces = new Map<number, number>();
      for (const t of [...linkTypes].sort((a, b) => a - b)) {
        interfaces.set(t, await writer.addInterface({ linkType: t }));
      }
      while (live.length > 0) {
        const i = earliest(live);
        const c = live[i]!.current;
        await writer.writePacket(c.ts, c.data, {
          interfaceId: interfaces.get(c.linkType)!,
          origLen: Math.max(c.origLen, c.data.length),
        });
        frames++;
        if (!(await live[i]!.next())) live.splice(i, 1);
      }
      await writer.close();
    }
    return { path, frames };
  } finally {
    for (const r of readers) r.close();
  }
}

/** Index of the reader whose current record comes first (by time, then by order seen). */
function earliest(readers: SpoolReader[]): number {
  let best = 0;
  for (let i = 1; i < readers.length; i++) {
    const a = readers[i]!.current;
    const b = readers[best]!.current;
    if (a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq)) best = i;
  }
  return best;
}

/**
 * Makes the `pcap` export.
 *
 * @param options `dir` (required), `spoolDir`, `logical`.
 * @param context The plugin context.
 * @returns The plugin.
 */
const pcapExport: PluginFactory<PcapExportOptions> = async (options, context) => {
  const dir = requireString(options, "dir", "pcap");
  const logical = rulesRunning(context, optionOf(options, "logical"));
  await Deno.mkdir(dir, { recursive: true });
  const spoolParent = typeof options.spoolDir === "string" ? options.spoolDir : dir;
  await Deno.mkdir(spoolParent, { recursive: true });
  const spoolDir = await Deno.makeTempDir({ dir: spoolParent, prefix: ".packetwave-spool-" });
  const store = new SpoolStore(spoolDir);
  const stats: PcapExportStats = { files: [], frames: 0, skippedRtp: 0, skippedSip: 0 };
  /** Spools of legs in progress. */
  const active = new Map<string, FrameSpool>();
  /** Start time of each leg with a spool, for the file name of a leg written alone. */
  const starts = new Map<string, number>();
  /** Spools of completed legs waiting for their logical call. */
  const waiting = new Map<string, FrameSpool>();
  const usedNames = new Set<string>();
  let seq = 0;
  let lastCopy: { number: number; ts: number; copy: FrameCopy } | null = null;
  let queue: Promise<void> = Promise.resolve();

  const router = new SipLegRouter<FrameCopy>((legId, copy) => {
    const d = copy.data;
    active.get(legId)?.append(copy.ts, copy.seq, copy.linkType, copy.origLen, d, 0, d.length);
  });

  const copyOf = (frame: Frame): FrameCopy => {
    if (lastCopy !== null && lastCopy.number === frame.number && lastCopy.ts === frame.ts) {
      return lastCopy.copy;
    }
    const copy = {
      ts: frame.ts,
      seq: seq++,
      linkType: frame.linkType,
      origLen: frame.origLen,
      data: frame.bytes.slice(frame.start, frame.end),
    };
    lastCopy = { number: frame.number, ts: frame.ts, copy };
    return copy;
  };

  const onSip = (callId: string, register: boolean) => {
    const frame = context.frame;
    if (frame === null) {
      stats.skippedSip++;
      router.resolve();
      return;
    }
    router.message(callId, register, frame, copyOf(frame));
  };

  const write = (job: MergeJob) => {
    queue = queue.then(async function writeCall() {
      try {
        let name = `${fileStamp(job.startTs)}_${safeName(job.id, 80)}`;
        for (let n = 2; usedNames.has(name); n++) {
          name = `${fileStamp(job.startTs)}_${safeName(job.id, 80)}_${n}`;
        }
        usedNames.add(name);
        const written = await mergeSpools(job.spools, join(dir, name));
        if (written) {
          stats.files.push(written.path);
          stats.frames += written.frames;
        }
      } catch (error) {
        context.warn(`cannot write the pcap of ${job.id}: ${(error as Error).message}`);
      } finally {
        for (const s of job.spools) await s.remove().catch(() => {});
      }
    });
  };

  const completeLeg = (leg: CallLeg) => {
    router.completed(leg, context.frame);
    const spool = active.get(leg.id);
    if (!spool) return;
    active.delete(leg.id);
    spool.finish();
    if (logical) {
      waiting.set(leg.id, spool);
    } else {
      starts.delete(leg.id);
      write({ id: leg.id, startTs: leg.startTs, spools: [spool] });
    }
  };

  const plugin: Plugin & { stats: PcapExportStats } = {
    name: "pcap",
    stats,
    on: {
      "sip.request": function sipRequest(e) {
        onSip(e.message.callId, e.message.method.toUpperCase() === "REGISTER");
      },
      "sip.response": function sipResponse(e) {
        onSip(e.message.callId, false);
      },
      "call.started": function legStarted(e) {
        router.started(e.leg);
        if (active.has(e.leg.id)) return;
        active.set(e.leg.id, store.create());
        starts.set(e.leg.id, e.leg.startTs);
      },
      "call.completed": function legCompleted(e) {
        completeLeg(e.leg);
      },
      "logical.completed": function logicalCompleted(e) {
        const spools: FrameSpool[] = [];
        for (const leg of e.call.legs) {
          const spool = waiting.get(leg.id);
          starts.delete(leg.id);
          if (!spool) continue;
          waiting.delete(leg.id);
          spools.push(spool);
        }
        if (spools.length > 0) write({ id: e.call.id, startTs: e.call.startTs, spools });
      },
    },
    rtp: function rtpPacket(stream, _header, bytes, arrival) {
      const leg = stream.leg;
      if (leg === null) return;
      const spool = active.get(leg.id);
      if (spool === undefined) return;
      const frame = context.frame;
      if (frame === null || bytes !== frame.bytes || arrival !== frame.ts) {
        stats.skippedRtp++;
        return;
      }
      spool.append(
        frame.ts,
        seq++,
        frame.linkType,
        frame.origLen,
        frame.bytes,
        frame.start,
        frame.end,
      );
    },
    async close() {
      router.resolve();
      for (const [id, spool] of active) {
        spool.finish();
        waiting.set(id, spool);
      }
      active.clear();
      // Legs no logical call claimed (none when the analysis ran to its end).
      for (const [id, spool] of waiting) {
        write({ id, startTs: starts.get(id) ?? 0, spools: [spool] });
      }
      waiting.clear();
      starts.clear();
      await queue;
      store.closeAll();
      await Deno.remove(spoolDir, { recursive: true }).catch(() => {});
      if (stats.skippedRtp > 0) {
        context.warn(
          `${stats.skippedRtp} RTP packets could not be extracted (fragmented or replayed)`,
        );
      }
    },
  };
  return plugin;
};

export default pcapExport;
