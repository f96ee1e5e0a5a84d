/**
 * A synchronous, buffered text output for exports that stream lines while
 * the analysis runs (NDJSON, CSV): a file or standard output. Event handlers
 * are synchronous, so writes are too; text is gathered and written when the
 * buffer fills, and in any case as soon as the current batch of frames is
 * done (a queued microtask), so a reader of the file or the pipe sees each
 * line promptly while the analysis makes few system calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TextOutput } from "./text_output.ts";
 *
 * const path = await Deno.makeTempFile();
 * const out = TextOutput.open(path);
 * out.write("a,b\r\n");
 * out.close();
 * assert.equal(await Deno.readTextFile(path), "a,b\r\n");
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

/** Characters gathered before a write is forced. */
export const TEXT_OUTPUT_BUFFER_CHARS = 64 * 1024;

const ENCODER = new TextEncoder();

/** Something that takes bytes synchronously (a file, stdout). */
interface SyncWriter {
  writeSync(p: Uint8Array): number;
}

/** A buffered text file or standard output, written synchronously. */
export class TextOutput {
  /** Path written, or `-` for standard output. */
  readonly target: string;
  readonly #writer: SyncWriter;
  readonly #file: Deno.FsFile | null;
  readonly #onError: (error: unknown) => void;
  #parts: string[] = [];
  #chars = 0;
  #scheduled = false;
  #closed = false;
  #failed = false;
  #bytes = 0;

  private constructor(
    target: string,
    writer: SyncWriter,
    file: Deno.FsFile | null,
    onError: (error: unknown) => void,
  ) {
    this.target = target;
    this.#writer = writer;
    this.#file = file;
    this.#onError = onError;
  }

  /**
   * Opens a file (created or truncated), or standard output for `-`.
   *
   * @param target A path, or `-`.
   * @param options `append` to add to an existing file; `onError` receives a
   *   failed background write (after which the output drops what it is given).
   * @returns The output.
   */
  static open(
    target: string,
    options: { append?: boolean; onError?: (error: unknown) => void } = {},
  ): TextOutput {
    const onError = options.onError ?? ((error) => console.error(error));
    if (target === "-") return new TextOutput(target, Deno.stdout, null, onError);
    const file = Deno.openSync(target, {
      write: true,
      create: true,
      truncate: !options.append,
      append: options.append ?? false,
    });
    return new TextOutput(target, file, file, onError);
  }

  /** Bytes written to the target so far (buffered text not included). */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /**
   * Adds text; it reaches the target when the buffer fills or the current
   * batch of work ends.
   *
   * @param text The text.
   */
  write(text: string): void {
    if (this.#closed || this.#failed) return;
    this.#parts.push(text);
    this.#chars += text.length;
    if (this.#chars >= TEXT_OUTPUT_BUFFER_CHARS) {
      this.#flushQuietly();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#flushQuietly();
      });
    }
  }

  /** Writes everything buffered now; throws when the target refuses it. */
  flush(): void {
    if (this.#parts.length === 0 || this.#failed) return;
    const text = this.#parts.length === 1 ? this.#parts[0]! : this.#parts.join("");
    this.#parts = [];
    this.#chars = 0;
    const bytes = ENCODER.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += this.#writer.writeSync(bytes.subarray(offset));
    this.#bytes += bytes.length;
  }

  /** Flushes and closes the file (standard output stays open). Later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    try {
      if (!this.#failed) this.flush();
    } finally {
      this.#closed = true;
      this.#file?.close();
    }
  }

  #flushQuietly(): void {
    try {
      this.flush();
    } catch (error) {
      this.#failed = true;
      this.#parts = [];
      this.#chars = 0;
      this.#onError(error);
    }
  }
}
