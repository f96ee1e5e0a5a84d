/**
 * The unit every capture source yields, and the small interface that makes
 * file and live sources interchangeable for everything downstream.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/**
 * One captured link-layer frame. Sources reuse a single instance and its
 * buffer: read what you need during the callback, copy what must outlive it.
 * Decoders on the fast path read `bytes[start..end)` directly; `data` is the
 * convenient (allocating) view for everything else.
 */
export class Frame {
  /** Capture time in seconds since the Unix epoch, fractional. */
  ts = 0;
  /** LINKTYPE_* value of the interface the frame was captured on (see `link_types.ts`). */
  linkType = 0;
  /** The source's buffer that holds the frame's bytes at `[start, end)`. */
  bytes: Uint8Array = EMPTY;
  /** Offset of the first captured byte in `bytes`. */
  start = 0;
  /** Offset just past the last captured byte in `bytes`. */
  end = 0;
  /** Length of the packet on the wire; larger than the captured length when the capture was snapped. */
  origLen = 0;
  /** Interface index: the pcapng Interface Description Block number, 0 for pcap and live. */
  interfaceId = 0;
  /** 1-based frame number in the input, as Wireshark numbers frames. */
  number = 0;
  /** Byte offset of the frame's record in the input file (0 for live capture). */
  offset = 0;

  /** Number of captured bytes. */
  get length(): number {
    return this.end - this.start;
  }

  /** The captured bytes as a view, valid only until the next frame. */
  get data(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }
}

/** A problem a source met inside its input and stepped over. */
export interface SourceAnomaly {
  /** Short machine-readable reason, such as `pcap.record.bad-length`. */
  reason: string;
  /** Human-readable detail. */
  detail: string;
  /** Byte offset in the input where the problem was found. */
  offset: number;
}

/** Callbacks a source drives; all are called synchronously from inside `run`. */
export interface FrameSink {
  /** Called once per frame, in input order. The frame is only valid during the call. */
  onFrame(frame: Frame): void;
  /** Called for every problem the source stepped over. */
  onAnomaly?(anomaly: SourceAnomaly): void;
  /** Called now and then with the bytes consumed so far and the total size (0 when unknown). */
  onProgress?(bytesRead: number, totalBytes: number): void;
}

/** What a source reports when its input ends. */
export interface SourceSummary {
  /** Frames delivered. */
  frames: number;
  /** Bytes consumed from the input. */
  bytes: number;
  /** Frames per link type, keyed by LINKTYPE_* value. */
  linkTypes: Map<number, number>;
  /** Capture format: `pcap`, `pcapng` or `live`. */
  format: string;
}

/** A capture source: a file, standard input or a live interface. */
export interface FrameSource {
  /** Name for messages: a path, `-` or an interface name. */
  readonly name: string;
  /**
   * Delivers every frame to the sink, then resolves with a summary.
   * Rejects with a {@link CaptureFormatError} when the input is not a capture at all.
   */
  run(sink: FrameSink): Promise<SourceSummary>;
  /** Stops a running source early; `run` then resolves with what was read. */
  stop(): void;
}

/** The input is not a readable capture: wrong magic, or a header that cannot be parsed. */
export class CaptureFormatError extends Error {
  /** Name of the input (a path or `-`). */
  readonly file: string;
  /** Byte offset where the problem was found. */
  readonly offset: number;

  /**
   * @param file Name of the input.
   * @param offset Byte offset of the problem.
   * @param reason What is wrong, in a few words.
   */
  constructor(file: string, offset: number, reason: string) {
    super(`Cannot read capture ${file} at byte ${offset}: ${reason}`);
    this.name = "CaptureFormatError";
    this.file = file;
    this.offset = offset;
  }
}
