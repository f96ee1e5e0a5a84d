/**
 * Opens a capture by content, not by file name: pcap, pcapng, or either
 * compressed with gzip. A path of `-` reads standard input.
 *
 * @module
 */

import { ByteInput, type ByteReader, bytesReader, streamReader } from "./byte_input.ts";
import { CaptureFormatError, type FrameSource } from "./frame.ts";
import { pcapMagic, PcapReader } from "./pcap.ts";
import { PCAPNG_SHB, PcapngReader } from "./pcapng.ts";

/** An open capture: the source and a way to release the file. */
export interface OpenedCapture {
  /** The frame source, ready to `run`. */
  source: FrameSource;
  /** Capture format detected from the content. */
  format: "pcap" | "pcapng";
  /** Whether the content was gzip-compressed. */
  gzip: boolean;
  /** Size of the file in bytes, 0 when unknown (stdin). */
  size: number;
  /** Releases the file handle. Safe to call twice. */
  close(): void;
}

/**
 * Opens a capture from a path, or standard input for `-`.
 *
 * @param path A file path, or `-`.
 * @returns The opened capture.
 * @throws {CaptureFormatError} When the content is neither pcap nor pcapng.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export async function openCapture(path: string): Promise<OpenedCapture> {
  // stdin may be a pipe: read it asynchronously, so the event loop goes on while it waits.
  if (path === "-") return await openReader({ read: (p) => Deno.stdin.read(p) }, "-", 0, () => {});
  const file = await Deno.open(path, { read: true });
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  try {
    const size = (await file.stat()).size;
    return await openReader(file, path, size, close);
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * Opens a capture from any byte reader.
 *
 * @param reader Where the bytes come from.
 * @param name Name of the input for messages.
 * @param size Size in bytes, or 0 when unknown.
 * @param close Releases the reader.
 * @returns The opened capture.
 * @throws {CaptureFormatError} When the content is neither pcap nor pcapng.
 */
export async function openReader(
  reader: ByteReader,
  name: string,
  size: number,
  close: () => void,
): Promise<OpenedCapture> {
  let input = new ByteInput(reader);
  let gzip = false;
  await input.ensure(4);
  if (input.available >= 2 && input.buffer[0] === 0x1f && input.buffer[1] === 0x8b) {
    gzip = true;
    const compressed = input;
    const stream = new ReadableStream<BufferSource>({
      async pull(controller) {
        const chunk = new Uint8Array(1 << 20);
        if (compressed.available > 0) {
          const n = Math.min(chunk.length, compressed.available);
          chunk.set(compressed.buffer.subarray(compressed.start, compressed.start + n));
          compressed.start += n;
          controller.enqueue(chunk.subarray(0, n));
          return;
        }
        const n = await reader.read(chunk);
        if (n === null) controller.close();
        else controller.enqueue(chunk.subarray(0, n));
      },
    });
    input = new ByteInput(streamReader(stream.pipeThrough(new DecompressionStream("gzip"))));
    await input.ensure(4);
  }
  const head = input.buffer.subarray(input.start, input.start + Math.min(4, input.available));
  if (input.available < 4) {
    throw new CaptureFormatError(name, 0, `file is too short (${input.available} bytes)`);
  }
  if (pcapMagic(head)) {
    return {
      source: new PcapReader(input, name, gzip ? 0 : size),
      format: "pcap",
      gzip,
      size,
      close,
    };
  }
  if (new DataView(head.buffer, head.byteOffset, 4).getUint32(0) === PCAPNG_SHB) {
    return {
      source: new PcapngReader(input, name, gzip ? 0 : size),
      format: "pcapng",
      gzip,
      size,
      close,
    };
  }
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new CaptureFormatError(name, 0, `not a pcap or pcapng file (starts with ${hex})`);
}

/**
 * Opens a capture held in memory.
 *
 * @param bytes The capture file's bytes.
 * @param name Name for messages.
 * @returns The opened capture.
 * @throws {CaptureFormatError} When the content is neither pcap nor pcapng.
 */
export async function openBytes(bytes: Uint8Array, name = "memory"): Promise<OpenedCapture> {
  return await openReader(bytesReader(bytes), name, bytes.length, () => {});
}
