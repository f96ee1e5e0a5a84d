/**
 * Live capture from a network interface through libpcap (see `libpcap.ts`),
 * behind the same {@link FrameSource} interface as the file readers.
 *
 * How the read loop keeps the event loop free: the handle is put in
 * non-blocking mode, and the only call that waits is a `poll(2)` on
 * libpcap's selectable descriptor plus an eventfd, made as a `nonblocking`
 * FFI call (Deno runs it on a worker thread and returns a promise). When it
 * returns, the JavaScript thread drains every waiting packet with
 * synchronous `pcap_next_ex` calls (each a cheap FFI call that never
 * blocks), copying each packet out of libpcap's ring into one reused buffer
 * before the sink sees it, at most {@link LIVE_BATCH_FRAMES} per turn. So
 * one thread hop is paid per batch of packets, not per packet, and no
 * callback ever runs on a foreign thread (which `pcap_dispatch` from a
 * worker would need). `stop()` writes the eventfd, so a waiting `poll`
 * returns at once and `run()` resolves within a millisecond or so.
 *
 * Latency: with the default (non-immediate) mode libpcap on Linux uses
 * TPACKET_V3, whose kernel blocks are handed over when full or when the
 * packet buffer timeout (`timeoutMs`) passes; packets thus arrive in
 * batches up to that late. `immediate: true` hands each packet over at once
 * at a higher cost per packet.
 *
 * @module
 */

import { Frame, type FrameSink, type FrameSource, type SourceSummary } from "./frame.ts";
import {
  type Libpcap,
  linkTypeFromDlt,
  LiveCaptureError,
  type LiveStats,
  loadLibpcap,
  PCAP_ERROR_BREAK,
  PcapHandle,
  ReadinessWaiter,
} from "./libpcap.ts";

export { LiveCaptureError } from "./libpcap.ts";
export type { LiveCaptureErrorReason, LiveStats } from "./libpcap.ts";

/**
 * The default capture filter: everything packetwave can decode SIP or RTP
 * from, and nothing else worth the copy.
 *
 * - `udp`, `tcp`, `sctp` on any port: SIP is recognized by content, not by
 *   port 5060, and RTP uses whatever ports SDP negotiates. (`udp` tests the
 *   IP protocol field, which every IPv4 fragment carries, so later fragments
 *   of a large SIP message pass; `port 5060` would drop them, because only
 *   the first fragment holds the UDP header.)
 * - `ip[6:2] & 0x1fff != 0`: any later IPv4 fragment, whatever it carries
 *   (a fragmented GRE or IP-in-IP packet, say).
 * - `ip6 proto 44`: every IPv6 fragment. IPv6 puts the fragment header where
 *   the UDP header would be; libpcap's `udp` looks one header further (each
 *   fragment's fragment header names the protocol), but its `port` test does
 *   not, and fragments of tunnelled packets name GRE or IP, not UDP.
 * - IP protocols 47 (GRE, ERSPAN), 4 (IPv4-in-IP) and 41 (IPv6-in-IP) over
 *   IPv4 and IPv6: tunnels whose inner packets the decoder opens. UDP
 *   tunnels (VXLAN, GTP-U, HEP) are already in `udp`.
 * - Ethertypes 0x8100, 0x88a8, 0x9100 (VLAN and QinQ tags left in the
 *   frame), 0x8864 (PPPoE session) and 0x8847/0x8848 (MPLS): link-layer
 *   wrappers a plain `udp` cannot see through. Written as `ether proto`
 *   rather than `vlan`/`pppoes`/`mpls`, because those keywords shift the
 *   offsets of everything after them in the expression and are refused on
 *   Linux cooked captures (`any`); `ether proto` compiles on every link type
 *   packetwave decodes. (Linux strips the outer VLAN tag before the filter
 *   runs, so tagged traffic also matches the plain `udp`.)
 *
 * Left out: ARP, ICMP, routing protocols and other non-UDP/TCP traffic.
 */
export const DEFAULT_LIVE_FILTER = [
  "udp or tcp or sctp",
  "or (ip[6:2] & 0x1fff != 0)",
  "or ip6 proto 44",
  "or ip proto 47 or ip6 proto 47",
  "or ip proto 4 or ip6 proto 4",
  "or ip proto 41 or ip6 proto 41",
  "or ether proto 0x8100 or ether proto 0x88a8 or ether proto 0x9100",
  "or ether proto 0x8864",
  "or ether proto 0x8847 or ether proto 0x8848",
].join(" ");

/** Default snapshot length: whole packets (libpcap's and Wireshark's maximum). */
export const LIVE_SNAP_LEN = 262144;
/** Default kernel buffer: 16 MiB, room for about two seconds of 10 000 RTP packets per second. */
export const LIVE_BUFFER_BYTES = 16 << 20;
/** Default packet buffer timeout in ms: the longest packets wait in the kernel to be batched. */
export const LIVE_TIMEOUT_MS = 100;
/** Most frames delivered per turn before the event loop gets a chance to run. */
export const LIVE_BATCH_FRAMES = 1024;

/** Longest single wait; the loop waits again afterwards (a safety net, not a deadline). */
const MAX_WAIT_MS = 1000;
/** Wait slice where `stop()` cannot interrupt a wait (no eventfd): the worst-case stop latency. */
const WAIT_SLICE_NO_WAKE_MS = 50;
/** Polls that report an error while no packet can be read, before the capture gives up. */
const MAX_ERROR_POLLS = 3;
const PROGRESS_EVERY_BYTES = 1 << 20;

/** How to open a live capture. */
export interface LiveOptions {
  /** Interface name, or `any` (Linux: every interface, as Linux cooked capture). Default `any`. */
  interface?: string;
  /** BPF filter (tcpdump syntax). Default {@link DEFAULT_LIVE_FILTER}; `""` captures everything. */
  filter?: string;
  /** Bytes kept of each packet. Default {@link LIVE_SNAP_LEN}. */
  snapLen?: number;
  /** Whether to put the interface in promiscuous mode (not applied to `any`). Default true. */
  promiscuous?: boolean;
  /** Kernel capture buffer in bytes. Default {@link LIVE_BUFFER_BYTES}. */
  bufferSize?: number;
  /** Deliver each packet as soon as it arrives instead of in kernel batches. Default false. */
  immediate?: boolean;
  /** Packet buffer timeout in ms (see the module notes). Default {@link LIVE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Path or name of libpcap, when the default names do not find it. */
  libraryPath?: string;
}

/**
 * Captures from a live interface. `open()` (called by `run()` if needed)
 * activates the capture and reports problems as {@link LiveCaptureError};
 * `run()` delivers frames until `stop()`; the handle is closed when `run()`
 * ends.
 *
 * @example
 * ```ts ignore
 * const source = new LiveSource({ interface: "eth0" });
 * Deno.addSignalListener("SIGINT", () => source.stop());
 * const summary = await source.run({ onFrame: (frame) => decode(frame) });
 * console.log(summary.frames, source.stats());
 * ```
 */
export class LiveSource implements FrameSource {
  /** The interface name. */
  readonly name: string;
  readonly #options: Required<Omit<LiveOptions, "libraryPath">> & { libraryPath?: string };
  #handle: PcapHandle | null = null;
  #waiter: ReadinessWaiter | null = null;
  #lib: Libpcap | null = null;
  #linkType = -1;
  #filter = "";
  #warnings: string[] = [];
  #lastStats: LiveStats | null = null;
  #stopped = false;
  #running = false;
  #finished = false;

  /** @param options Interface, filter and capture settings; every field has a default. */
  constructor(options: LiveOptions = {}) {
    this.#options = {
      interface: options.interface ?? "any",
      filter: options.filter ?? DEFAULT_LIVE_FILTER,
      snapLen: options.snapLen ?? LIVE_SNAP_LEN,
      promiscuous: options.promiscuous ?? true,
      bufferSize: options.bufferSize ?? LIVE_BUFFER_BYTES,
      immediate: options.immediate ?? false,
      timeoutMs: options.timeoutMs ?? LIVE_TIMEOUT_MS,
      libraryPath: options.libraryPath,
    };
    this.name = this.#options.interface;
  }

  /** LINKTYPE_* of the frames, known once open (-1 before). */
  get linkType(): number {
    return this.#linkType;
  }

  /** The filter installed (`""` for none), known once open. */
  get filter(): string {
    return this.#filter;
  }

  /** Warnings libpcap gave on activation (such as promiscuous mode not supported). */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /**
   * Activates the capture: creates the libpcap handle, applies the options,
   * activates it and installs the filter. Does nothing when already open.
   *
   * @throws {LiveCaptureError} When libpcap is missing, the interface does not exist, the process
   *   may not capture, or the filter does not compile.
   */
  open(): void {
    if (this.#handle !== null) return;
    if (this.#finished) {
      throw new LiveCaptureError("read", this.name, `Capture on ${this.name} has already ended`);
    }
    const o = this.#options;
    const lib = loadLibpcap(o.libraryPath);
    const handle = PcapHandle.create(o.interface, lib);
    try {
      handle.setSnapLen(o.snapLen);
      handle.setPromiscuous(o.promiscuous && o.interface !== "any");
      handle.setTimeout(o.timeoutMs);
      handle.setBufferSize(o.bufferSize);
      handle.setImmediateMode(o.immediate);
      handle.requestNanoseconds();
      this.#warnings = handle.activate();
      this.#linkType = linkTypeFromDlt(handle.dataLink());
      if (o.filter.trim() !== "") handle.setFilter(o.filter);
      this.#filter = o.filter.trim();
      handle.setNonblocking(true);
    } catch (error) {
      handle.close();
      throw error;
    }
    this.#lib = lib;
    this.#handle = handle;
  }

  /**
   * Captures until {@link LiveSource.stop}, delivering each frame to the
   * sink. Activation warnings and kernel drops are reported as anomalies
   * (`live.warning`, `live.dropped`).
   *
   * @param sink Receives frames, anomalies and progress.
   * @returns What was captured.
   * @throws {LiveCaptureError} When the capture cannot start or a read fails (the interface went away).
   */
  async run(sink: FrameSink): Promise<SourceSummary> {
    if (this.#running) throw new Error(`Capture on ${this.name} is already running`);
    if (this.#finished) {
      throw new LiveCaptureError("read", this.name, `Capture on ${this.name} has already ended`);
    }
    const summary: SourceSummary = { frames: 0, bytes: 0, linkTypes: new Map(), format: "live" };
    if (this.#stopped) {
      this.close();
      return summary;
    }
    this.open();
    const handle = this.#handle!;
    const lib = this.#lib!;
    this.#running = true;
    const waiter = new ReadinessWaiter(lib, handle.selectableFd());
    this.#waiter = waiter;
    try {
      for (const detail of this.#warnings) {
        sink.onAnomaly?.({ reason: "live.warning", detail, offset: 0 });
      }
      // stop() may have run from an anomaly callback.
      if (!this.#stopped) await this.#loop(handle, waiter, sink, summary);
    } finally {
      this.#waiter = null;
      waiter.close();
      this.#lastStats = handle.stats() ?? this.#lastStats;
      this.#handle = null;
      this.#finished = true;
      await handle.closeAsync();
      this.#running = false;
    }
    const dropped = (this.#lastStats?.dropped ?? 0) + (this.#lastStats?.ifDropped ?? 0);
    if (dropped > 0) {
      sink.onAnomaly?.({
        reason: "live.dropped",
        detail: `the kernel dropped ${dropped} packets (buffer full ${
          this.#lastStats!.dropped
        }, interface ${
          this.#lastStats!.ifDropped
        }); a larger bufferSize or a narrower filter helps`,
        offset: 0,
      });
    }
    if (summary.frames > 0) summary.linkTypes.set(this.#linkType, summary.frames);
    sink.onProgress?.(summary.bytes, 0);
    return summary;
  }

  /** Ends `run()` promptly; it then resolves with what was captured. Safe to call any time. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#waiter?.wake();
    this.#handle?.breakLoop();
  }

  /**
   * Kernel counters (`pcap_stats`): packets received, dropped for lack of
   * buffer, dropped by the interface. After the capture ended, the last
   * counters read.
   *
   * @returns The counters, or `null` before `open()` or where the platform cannot tell.
   */
  stats(): LiveStats | null {
    if (this.#handle !== null) this.#lastStats = this.#handle.stats() ?? this.#lastStats;
    return this.#lastStats;
  }

  /** Releases the capture without running it; while `run()` is active this is `stop()`. */
  close(): void {
    if (this.#running) {
      this.stop();
      return;
    }
    if (this.#handle !== null) {
      this.#lastStats = this.#handle.stats() ?? this.#lastStats;
      this.#handle.close();
      this.#handle = null;
    }
    this.#finished = true;
  }

  async #loop(
    handle: PcapHandle,
    waiter: ReadinessWaiter,
    sink: FrameSink,
    summary: SourceSummary,
  ): Promise<void> {
    const o = this.#options;
    const frame = new Frame();
    const buffer = new Uint8Array(Math.max(1, o.snapLen));
    frame.bytes = buffer;
    frame.linkType = this.#linkType;
    const fracScale = handle.nanos ? 1e-9 : 1e-6;
    const required = handle.requiredSelectTimeoutMs();
    let waitMs = MAX_WAIT_MS;
    if (required !== null) waitMs = Math.min(waitMs, Math.max(1, required));
    if (!waiter.canWake) waitMs = Math.min(waitMs, WAIT_SLICE_NO_WAKE_MS);
    let progressAt = 0;
    let errorPolls = 0;

    while (!this.#stopped) {
      const woke = await waiter.wait(waitMs);
      if (this.#stopped) break;
      // Read even after a timeout: some platforms signal readiness late (pcap_get_required_select_timeout).
      let n = 0;
      for (; n < LIVE_BATCH_FRAMES && !this.#stopped; n++) {
        const rc = handle.next(buffer);
        if (rc !== 1) {
          if (rc === PCAP_ERROR_BREAK) this.#stopped = true;
          break;
        }
        frame.ts = handle.tsSeconds + handle.tsFraction * fracScale;
        frame.start = 0;
        frame.end = handle.capLen;
        frame.origLen = Math.max(handle.origLen, handle.capLen);
        frame.number = ++summary.frames;
        summary.bytes += handle.capLen;
        sink.onFrame(frame);
      }
      if (woke === "error" && n === 0) {
        if (++errorPolls >= MAX_ERROR_POLLS) {
          throw new LiveCaptureError(
            "read",
            this.name,
            `Cannot read from ${this.name}: the capture descriptor reports an error`,
          );
        }
      } else {
        errorPolls = 0;
      }
      if (summary.bytes - progressAt >= PROGRESS_EVERY_BYTES) {
        progressAt = summary.bytes;
        sink.onProgress?.(summary.bytes, 0);
      }
    }
  }
}

/**
 * Tells whether live capture can run here, for skipping tests and for a
 * clear CLI message: FFI permission, libpcap present, and the right to
 * capture on the interface (activating it briefly).
 *
 * @param device Interface to try.
 * @param libraryPath Path or name of libpcap, when not the default.
 * @returns `null` when capture works, else why not (a sentence).
 */
export function liveCaptureUnavailable(device = "lo", libraryPath?: string): string | null {
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return "foreign function calls are not permitted (run deno with --allow-ffi)";
    }
    const handle = PcapHandle.create(device, loadLibpcap(libraryPath));
    try {
      handle.activate();
    } finally {
      handle.close();
    }
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
