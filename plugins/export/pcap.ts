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
 * capture is read (see `spool.ts`: bounded memory; a spool file is already a
 * pcap file), and when the call is complete (`logical.completed`, or
 * `call.completed` without rules) a one-leg call's spool is moved into
 * place, or the legs' spools are merged by time into the call's file and
 * deleted.
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
import { PcapngWriter } from "../../engine/capture/pcapng_writer.ts";
import { join, safeName } from "../paths.ts";
import type { Plugin, PluginFactory } from "../plugin.ts";
import { fileStamp, optionOf, requireString, rulesRunning } from "./common.ts";
import { SipLegRouter } from "./leg_router.ts";
import {
  type FrameSpool,
  PCAP_HEADER_BYTES,
  PCAP_RECORD_BYTES,
  SPOOL_SNAPLEN,
  type SpoolFile,
  SpoolReader,
  SpoolStore,
  writePcapHeader,
} from "./spool.ts";

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
 * Writes the capture file of a call from its legs' spools: a single spool
 * file is moved into place as it is; several of one link type are merged
 * by time into classic pcap; several link types make a pcapng file with one
 * interface per link type. Frames with the same timestamp keep the order of
 * the spools (legs in start order). The spool files are gone afterwards.
 *
 * @param spools The legs' spools.
 * @param pathWithoutExtension Output path; `.pcap` or `.pcapng` is added.
 * @returns The path written and its frame count, or `null` when there was no frame.
 */
export async function writeCallCapture(
  spools: readonly FrameSpool[],
  pathWithoutExtension: string,
): Promise<{ path: string; frames: number } | null> {
  const files: SpoolFile[] = [];
  for (const spool of spools) {
    spool.finish();
    for (const f of spool.files.values()) if (f.created && f.frames > 0) files.push(f);
  }
  try {
    if (files.length === 0) return null;
    const frames = files.reduce((n, f) => n + f.frames, 0);
    const linkTypes = new Set(files.map((f) => f.linkType));
    if (linkTypes.size > 1) {
      const path = `${pathWithoutExtension}.pcapng`;
      await mergeToPcapng(files, path);
      return { path, frames };
    }
    const path = `${pathWithoutExtension}.pcap`;
    if (files.length === 1) files[0]!.moveTo(path);
    else mergeToPcap(files, path);
    return { path, frames };
  } finally {
    for (const spool of spools) spool.remove();
  }
}

/** Index of the reader whose current record comes first (by time, then by spool order). */
function earliest(readers: SpoolReader[]): number {
  let best = 0;
  for (let i = 1; i < readers.length; i++) {
    const a = readers[i]!.current;
    const b = readers[best]!.current;
    if (a.seconds < b.seconds || (a.seconds === b.seconds && a.micros < b.micros)) best = i;
  }
  return best;
}

/** Opens readers on spool files, positioned on their first record (empty ones left out). */
function openReaders(files: SpoolFile[]): { all: SpoolReader[]; live: SpoolReader[] } {
  const all: SpoolReader[] = [];
  const live: SpoolReader[] = [];
  try {
    for (const f of files) {
      const reader = new SpoolReader(f);
      all.push(reader);
      if (reader.next()) live.push(reader);
    }
  } catch (error) {
    for (const r of all) r.close();
    throw error;
  }
  return { all, live };
}

const MERGE_BUFFER_BYTES = 1024 * 1024;

/** Merges spool files of one link type into a classic pcap file, synchronously. */
function mergeToPcap(files: SpoolFile[], path: string): void {
  const { all, live } = openReaders(files);
  const out = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    let buffer = new Uint8Array(MERGE_BUFFER_BYTES);
    let view = new DataView(buffer.buffer);
    let used = 0;
    const flush = () => {
      let offset = 0;
      while (offset < used) offset += out.writeSync(buffer.subarray(offset, used));
      used = 0;
    };
    const snaplen = Math.max(SPOOL_SNAPLEN, ...files.map((f) => f.maxCapLen));
    writePcapHeader(view, 0, files[0]!.linkType, snaplen);
    used = PCAP_HEADER_BYTES;
    while (live.length > 0) {
      const i = earliest(live);
      const c = live[i]!.current;
      const needed = PCAP_RECORD_BYTES + c.data.length;
      if (buffer.length - used < needed) flush();
      if (needed > buffer.length) {
        buffer = new Uint8Array(needed);
        view = new DataView(buffer.buffer);
      }
      view.setUint32(used, c.seconds, true);
      view.setUint32(used + 4, c.micros, true);
      view.setUint32(used + 8, c.data.length, true);
      view.setUint32(used + 12, c.origLen, true);
      buffer.set(c.data, used + PCAP_RECORD_BYTES);
      used += needed;
      if (!live[i]!.next()) live.splice(i, 1);
    }
    flush();
  } finally {
    out.close();
    for (const r of all) r.close();
  }
}

/** Merges spool files of several link types into pcapng, one interface per link type. */
async function mergeToPcapng(files: SpoolFile[], path: string): Promise<void> {
  const { all, live } = openReaders(files);
  try {
    const out = await Deno.open(path, { write: true, create: true, truncate: true });
    const writer = new PcapngWriter(out, {
      section: { application: "packetwave (per-call extraction)" },
    });
    const interfaces = new Map<number, number>();
    for (const t of [...new Set(files.map((f) => f.linkType))].sort((a, b) => a - b)) {
      const snaplen = Math.max(
        SPOOL_SNAPLEN,
        ...files.filter((f) => f.linkType === t).map((f) => f.maxCapLen),
      );
      interfaces.set(t, await writer.addInterface({ linkType: t, snaplen }));
    }
    while (live.length > 0) {
      const i = earliest(live);
      const reader = live[i]!;
      const c = reader.current;
      const ns = BigInt(c.seconds) * 1_000_000_000n + BigInt(c.micros) * 1000n;
      await writer.writePacket(ns, c.data, {
        interfaceId: interfaces.get(reader.linkType)!,
        origLen: Math.max(c.origLen, c.data.length),
      });
      if (!reader.next()) live.splice(i, 1);
    }
    await writer.close();
  } finally {
    for (const r of all) r.close();
  }
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
  /** Calls whose pcapng file is still being written. */
  const writing = new Set<Promise<void>>();

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
    if (register || callId === "") {
      router.resolve(); // never part of a leg: no copy needed
      return;
    }
    if (frame === null) {
      stats.skippedSip++;
      router.resolve();
      return;
    }
    router.message(callId, register, frame, copyOf(frame));
  };

  const write = (job: MergeJob) => {
    let name = `${fileStamp(job.startTs)}_${safeName(job.id, 80)}`;
    for (let n = 2; usedNames.has(name); n++) {
      name = `${fileStamp(job.startTs)}_${safeName(job.id, 80)}_${n}`;
    }
    usedNames.add(name);
    // Runs synchronously to the end unless the call needs pcapng (several link types).
    const pending = writeCallCapture(job.spools, join(dir, name)).then((written) => {
      if (written) {
        stats.files.push(written.path);
        stats.frames += written.frames;
      }
    }, (error) => {
      context.warn(`cannot write the pcap of ${job.id}: ${(error as Error).message}`);
    }).finally(() => writing.delete(pending));
    writing.add(pending);
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
      while (writing.size > 0) await Promise.all([...writing]);
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
