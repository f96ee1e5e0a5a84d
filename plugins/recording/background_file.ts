/**
 * Files written in the background, so that neither creating a file (from
 * tens of microseconds to milliseconds of kernel time, depending on the
 * file system) nor copying audio into the page cache holds up the packet
 * path.
 *
 * A {@linkcode BackgroundFile} is created with the asynchronous `Deno.open`,
 * which runs on Deno's blocking thread pool beside the analysis. Bytes that
 * come before its handle do not wait for it: the file is opened
 * synchronously then (by that time the pool has usually created it, so this
 * is a plain open). Writes are positional: appends go to the end the file
 * will have, `writeAt` patches a range (a WAV header). A file has at most
 * one operation in flight, so its contents never depend on the order the
 * thread pool runs things in: a piece alone in the queue of an idle file is
 * written in the background, several pieces that had to wait (for a write
 * in flight) are written at once, synchronously, without being copied.
 *
 * Memory stays bounded: the {@linkcode BackgroundWriter} counts every byte
 * waiting (for its turn, or held by the caller for a file still being
 * created) and every byte of a background write in flight. A background
 * write's buffer is only known to be free at the next turn of the event
 * loop (the file reader gives it one every 16 MiB of input; live capture is
 * asynchronous anyway), so those are kept to a few MiB and further writes
 * are made synchronously; past the cap on everything pending, files are
 * also created synchronously. What waits for a write already in flight
 * goes out at the next turn.
 *
 * Errors are not thrown at the writer: a file that fails stops taking data,
 * its error is reported once through `onError`, and
 * {@linkcode BackgroundFile.done} settles with it.
 *
 * @module
 */

import type { BufferPool } from "./buffer_pool.ts";

/** Default most bytes waiting or in flight before files are created synchronously. */
export const DEFAULT_MAX_PENDING_BYTES = 32 << 20;
/** Default most bytes of writes in flight (not known to be done) before writes are synchronous. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 4 << 20;

/** Options of a {@linkcode BackgroundWriter}. */
export interface BackgroundWriterOptions {
  /**
   * Most bytes waiting (for a file's handle or its turn) or in flight before
   * files are created and written synchronously (default 32 MiB).
   */
  maxPendingBytes?: number;
  /**
   * Most bytes of background writes in flight: their buffers are only known
   * to be free at the next turn of the event loop, so past this, writes are
   * synchronous (default 4 MiB).
   */
  maxInFlightBytes?: number;
  /**
   * Create files with an asynchronous open on the thread pool (default true);
   * false creates each at once, synchronously (see {@linkcode BackgroundFile}).
   */
  createInBackground?: boolean;
  /** Called once per file whose creation or writing failed. */
  onError?: (path: string, error: Error) => void;
  /** The pool of the buffers handed to its files (their references are let go once written). */
  pool?: BufferPool | null;
}

/** A piece waiting to be written. */
interface Piece {
  offset: number;
  bytes: Uint8Array;
}

/** Options of a {@linkcode BackgroundFile}. */
export interface BackgroundFileOptions {
  /**
   * Write synchronously as soon as the file is open (only its creation goes
   * to the background): for a file that takes data for a long time, so its
   * data never waits for a turn of the event loop (default false).
   */
  syncWrites?: boolean;
}

/**
 * Creates and writes {@linkcode BackgroundFile}s, counts the bytes they
 * hold, and waits for them all in {@linkcode BackgroundWriter.settle}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundWriter } from "./background_file.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const writer = new BackgroundWriter();
 * const file = writer.open(`${dir}/a.bin`);
 * file.append(new Uint8Array([1, 2, 3]));
 * file.writeAt(0, new Uint8Array([9]));
 * file.close();
 * await writer.settle();
 * assert.deepEqual([...Deno.readFileSync(`${dir}/a.bin`)], [9, 2, 3]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class BackgroundWriter {
  readonly #maxPending: number;
  readonly #maxInFlight: number;
  /** Whether files are created by an asynchronous open. */
  readonly createInBackground: boolean;
  readonly #onError: BackgroundWriterOptions["onError"];
  /** The pool of the buffers its files are handed. */
  readonly pool: BufferPool | null;
  readonly #busy = new Set<Promise<unknown>>();
  /** Bytes waiting: queued in files, or held for a file still being created. */
  #waiting = 0;
  /** Bytes of background writes not known to be done. */
  #inFlight = 0;
  #peak = 0;
  #syncWrites = 0;

  /** @param options Memory caps, error callback and buffer pool. */
  constructor(options: BackgroundWriterOptions = {}) {
    this.#maxPending = Math.max(0, options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES);
    this.#maxInFlight = Math.max(0, options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES);
    this.createInBackground = options.createInBackground ?? true;
    this.#onError = options.onError;
    this.pool = options.pool ?? null;
  }

  /** Bytes waiting or in flight now. */
  get pendingBytes(): number {
    return this.#waiting + this.#inFlight;
  }

  /** Most bytes ever pending at once. */
  get peakPendingBytes(): number {
    return this.#peak;
  }

  /** Files created or pieces written synchronously because the cap was reached. */
  get syncFallbacks(): number {
    return this.#syncWrites;
  }

  /** True while the pending bytes are at or above the cap. */
  get full(): boolean {
    return this.#waiting + this.#inFlight >= this.#maxPending;
  }

  /**
   * Whether a write of `bytes` may go to the background now (nothing is
   * over the caps).
   *
   * @param bytes Size of the write.
   * @returns True to write in the background.
   */
  canWriteInBackground(bytes: number): boolean {
    return !this.full && this.#fitsInFlight(bytes);
  }

  /** Whether `bytes` more in flight stay under the cap (one write always may, unless the cap is 0). */
  #fitsInFlight(bytes: number): boolean {
    if (this.#maxInFlight === 0) return false;
    return this.#inFlight === 0 || this.#inFlight + bytes <= this.#maxInFlight;
  }

  /**
   * Starts a file (created, or truncated when it exists) in the background.
   * Bytes given before its handle comes open it synchronously.
   *
   * @param path Where.
   * @param options Whether its writes are synchronous.
   * @returns The file; `close()` it.
   */
  open(path: string, options: BackgroundFileOptions = {}): BackgroundFile {
    return new BackgroundFile(this, path, options);
  }

  /**
   * Writes a whole small file (a sidecar) in the background, synchronously
   * when the writes in flight are at their cap. Failures go to `onError`.
   *
   * @param path Where.
   * @param bytes Its contents (kept until written: do not change them).
   */
  writeFile(path: string, bytes: Uint8Array): void {
    if (!this.#fitsInFlight(bytes.length)) {
      this.#syncWrites++;
      try {
        Deno.writeFileSync(path, bytes);
      } catch (error) {
        this.failed(path, error);
      }
      return;
    }
    this.dispatched(bytes.length, false);
    this.track(
      Deno.writeFile(path, bytes).then(
        () => this.landed(bytes.length),
        (error) => {
          this.landed(bytes.length);
          this.failed(path, error);
        },
      ),
    );
  }

  /**
   * Waits until every file is closed and written (or failed), and every
   * other piece of work handed to {@linkcode BackgroundWriter.track} is done.
   */
  async settle(): Promise<void> {
    while (this.#busy.size > 0) await Promise.all([...this.#busy]);
  }

  /**
   * Counts a piece of asynchronous work (a file, a deferred mix) until it
   * settles; `settle()` waits for it. Its rejection is reported, not thrown.
   *
   * @param work The work.
   */
  track(work: Promise<unknown>): void {
    const settled: Promise<void> = work.then(
      () => {},
      (error) => this.failed("(background work)", error),
    ).finally(() => this.#busy.delete(settled));
    this.#busy.add(settled);
  }

  /**
   * Counts bytes waiting for a write that is not queued yet (audio held for
   * a file still being created), so the cap sees them.
   *
   * @param bytes How many.
   */
  add(bytes: number): void {
    this.#waiting += bytes;
    this.#notePeak();
  }

  /**
   * Stops counting bytes (written, dropped, or handed to a file).
   *
   * @param bytes How many.
   */
  release(bytes: number): void {
    this.#waiting -= bytes;
  }

  /**
   * @internal A background write starts: its bytes go from waiting (when
   * they were queued) to in flight.
   */
  dispatched(bytes: number, wasWaiting = true): void {
    if (wasWaiting) this.#waiting -= bytes;
    this.#inFlight += bytes;
    this.#notePeak();
  }

  /** @internal A background write is known to be done. */
  landed(bytes: number): void {
    this.#inFlight -= bytes;
  }

  #notePeak(): void {
    const pending = this.#waiting + this.#inFlight;
    if (pending > this.#peak) this.#peak = pending;
  }

  /** @internal A synchronous fallback happened. */
  countSync(): void {
    this.#syncWrites++;
  }

  /** @internal Reports a failure. */
  failed(path: string, error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    try {
      this.#onError?.(path, e);
    } catch {
      // a reporter that throws must not break the writer
    }
  }
}

/**
 * One file written in the background. Pieces handed to it are owned by it
 * until written (with one reference, when they come from the writer's
 * pool): the caller must not change them afterwards.
 *
 * The file is created by an asynchronous open that does not truncate; if
 * bytes come before its handle does, the file is opened synchronously
 * right away (by then the thread pool has usually created it, so this is a
 * plain open) and the late handle is closed unused. The file is truncated
 * to its length when closed, so an older, longer file of the same name
 * leaves nothing behind.
 */
export class BackgroundFile {
  /** The file's path. */
  readonly path: string;
  /** Settles once the file is closed: `null`, or the error that stopped it. */
  readonly done: Promise<Error | null>;
  readonly #writer: BackgroundWriter;
  readonly #syncWrites: boolean;
  #resolve!: (error: Error | null) => void;
  #file: Deno.FsFile | null = null;
  /** The asynchronous open has not settled yet. */
  #asyncOpen = false;
  /** The handle came from an open that did not truncate. */
  #truncateAtClose = false;
  #busy = false;
  #closing = false;
  #discard = false;
  #finished = false;
  #error: Error | null = null;
  #onOpen: ((ok: boolean) => void)[] = [];
  /** Where the descriptor's offset is. */
  #position = 0;
  /** Where the next append goes. */
  #end = 0;
  #queue: Piece[] = [];
  /** Bytes of the queue. */
  #queuedBytes = 0;
  /** The range of the write in flight (empty when none). */
  #flightStart = 0;
  #flightEnd = 0;
  /** A second handle, for writes beside the one in flight. */
  #beside: Deno.FsFile | null = null;

  /**
   * @param writer The writer counting this file's bytes.
   * @param path Where (created, or truncated when it exists).
   * @param options Whether its writes are synchronous.
   */
  constructor(writer: BackgroundWriter, path: string, options: BackgroundFileOptions = {}) {
    this.#writer = writer;
    this.path = path;
    this.#syncWrites = options.syncWrites ?? false;
    this.done = new Promise((resolve) => this.#resolve = resolve);
    writer.track(this.done);
    if (!writer.createInBackground) {
      this.#createNow();
      return;
    }
    this.#asyncOpen = true;
    Deno.open(path, { write: true, create: true }).then(
      (file) => {
        this.#asyncOpen = false;
        if (this.#file !== null || this.#finished || this.#error !== null || this.#discard) {
          // Opened synchronously meanwhile, or no longer wanted.
          file.close();
        } else {
          this.#file = file;
          this.#truncateAtClose = true;
          this.#opened(true);
        }
        this.#pump();
      },
      (error) => {
        this.#asyncOpen = false;
        if (this.#file === null && this.#error === null) this.#fail(error);
        else this.#pump();
      },
    );
  }

  /** Bytes the file will hold once everything queued is written. */
  get size(): number {
    return this.#end;
  }

  /** The error that stopped the file, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * True once the file is closed and everything handed to it is on disk
   * (written synchronously, or its background write seen done): it can be
   * read back now, before {@linkcode BackgroundFile.done} settles.
   */
  get written(): boolean {
    return this.#closing && !this.#busy && this.#queue.length === 0 && this.#error === null;
  }

  /**
   * Runs `fn` once the file is open: now if it is, else when the handle
   * comes (`ok` false when it never will: the file failed or was dropped).
   *
   * @param fn What to run.
   */
  onOpen(fn: (ok: boolean) => void): void {
    if (this.#file === null && this.#asyncOpen && !this.#closing) {
      this.#onOpen.push(fn);
      return;
    }
    fn(this.#file !== null && this.#error === null && !this.#closing);
  }

  /**
   * Appends bytes at the end.
   *
   * @param bytes What to write (owned by the file from now on).
   */
  append(bytes: Uint8Array): void {
    const offset = this.#end;
    this.#end += bytes.length;
    this.#put(offset, bytes);
  }

  /**
   * Writes bytes at an offset, after everything handed over before. When a
   * piece still waiting in the queue covers the whole range (a header
   * patched before the first write went out), it is patched in place
   * instead: no extra write.
   *
   * @param offset Byte offset in the file.
   * @param bytes What to write (owned by the file from now on).
   */
  writeAt(offset: number, bytes: Uint8Array): void {
    if (offset + bytes.length > this.#end) this.#end = offset + bytes.length;
    // The last waiting piece covering the range is the one a later read would see.
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const p = this.#queue[i]!;
      if (p.offset <= offset && offset + bytes.length <= p.offset + p.bytes.length) {
        p.bytes.set(bytes, offset - p.offset);
        this.#writer.pool?.unref(bytes.buffer);
        return;
      }
      if (p.offset < offset + bytes.length && offset < p.offset + p.bytes.length) break;
    }
    this.#put(offset, bytes);
  }

  /** Closes the file once everything queued is written. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#opened(false);
    this.#pump();
  }

  /** Drops what is queued, closes the file and removes it (even once written). */
  discard(): void {
    if (this.#discard) return;
    this.#discard = true;
    this.#dropQueue();
    if (this.#finished) {
      removeQuietly(this.path);
      return;
    }
    this.close();
  }

  #put(offset: number, bytes: Uint8Array): void {
    if (this.#closing || this.#error !== null || this.#discard || bytes.length === 0) {
      this.#writer.pool?.unref(bytes.buffer);
      return;
    }
    if (this.#file === null) {
      this.#openNow();
      if (this.#error !== null) {
        this.#writer.pool?.unref(bytes.buffer);
        return;
      }
    }
    if (
      this.#busy && !this.#writer.canWriteInBackground(bytes.length) &&
      !this.#overlapsPending(offset, offset + bytes.length)
    ) {
      // A write is in flight and no more may be: rather than wait for the next
      // turn, write this one now through a second handle (its range is free).
      return this.#writeBeside(offset, bytes);
    }
    this.#queue.push({ offset, bytes });
    this.#queuedBytes += bytes.length;
    this.#writer.add(bytes.length);
    this.#pump();
  }

  /** Whether a range overlaps the write in flight or a piece waiting. */
  #overlapsPending(start: number, end: number): boolean {
    if (start < this.#flightEnd && this.#flightStart < end) return true;
    for (const p of this.#queue) {
      if (start < p.offset + p.bytes.length && p.offset < end) return true;
    }
    return false;
  }

  /** Writes a piece now through a second handle, beside the write in flight. */
  #writeBeside(offset: number, bytes: Uint8Array): void {
    this.#writer.countSync();
    try {
      this.#beside ??= Deno.openSync(this.path, { write: true });
      this.#beside.seekSync(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < bytes.length) done += this.#beside.writeSync(bytes.subarray(done));
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#writer.pool?.unref(bytes.buffer);
    }
  }

  /**
   * Bytes came before the handle: opens the file now. The thread pool has
   * usually created it by then; opening it without `create` spares the
   * directory's lock, which creating files holds.
   */
  #openNow(): void {
    this.#writer.countSync();
    try {
      try {
        this.#file = Deno.openSync(this.path, { write: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        this.#file = Deno.openSync(this.path, { write: true, create: true });
      }
      this.#truncateAtClose = true;
      this.#opened(true);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Creates (or truncates) the file synchronously, for a writer that does not create in the background. */
  #createNow(): void {
    try {
      this.#file = Deno.openSync(this.path, { write: true, create: true, truncate: true });
    } catch (error) {
      this.#fail(error);
    }
  }

  #opened(ok: boolean): void {
    const waiting = this.#onOpen;
    this.#onOpen = [];
    for (const fn of waiting) {
      try {
        fn(ok && this.#file !== null && this.#error === null);
      } catch (error) {
        this.#writer.failed(this.path, error);
      }
    }
  }

  /**
   * Writes what is queued when the file is open and idle: a lone piece in
   * the background (within the writer's caps), several pieces at once,
   * synchronously.
   */
  #pump(): void {
    const file = this.#file;
    if (this.#busy || this.#finished) return;
    if (this.#error !== null) return this.#finish();
    if (file === null || this.#queue.length === 0) {
      if (this.#closing) this.#finish();
      return;
    }
    const first = this.#queue[0]!;
    if (
      this.#syncWrites || this.#queue.length > 1 ||
      !this.#writer.canWriteInBackground(first.bytes.length)
    ) {
      return this.#writeNow(file);
    }
    if (this.#position !== first.offset) {
      // Nothing in flight: moving the offset now is safe (and cheap).
      try {
        this.#position = file.seekSync(first.offset, Deno.SeekMode.Start);
      } catch (error) {
        return this.#fail(error);
      }
    }
    this.#queue.shift();
    const bytes = first.bytes;
    const length = bytes.length;
    this.#queuedBytes -= length;
    this.#writer.dispatched(length);
    this.#busy = true;
    const offset = first.offset;
    this.#flightStart = offset;
    this.#flightEnd = offset + length;
    file.write(bytes).then(
      (written) => {
        this.#busy = false;
        this.#flightEnd = this.#flightStart;
        this.#position = offset + written;
        this.#writer.landed(length);
        if (written < length && this.#error === null && !this.#discard) {
          // A short write: the rest goes first (keeping the buffer's reference).
          if (written <= 0) {
            this.#writer.pool?.unref(bytes.buffer);
            return this.#fail(new Error("Cannot write: no progress"));
          }
          const rest = bytes.subarray(written);
          this.#queue.unshift({ offset: offset + written, bytes: rest });
          this.#queuedBytes += rest.length;
          this.#writer.add(rest.length);
        } else {
          this.#writer.pool?.unref(bytes.buffer);
        }
        this.#pump();
      },
      (error) => {
        this.#busy = false;
        this.#flightEnd = this.#flightStart;
        this.#writer.landed(length);
        this.#writer.pool?.unref(bytes.buffer);
        this.#fail(error);
      },
    );
  }

  /** Writes the queue now, synchronously (nothing of this file is in flight). */
  #writeNow(file: Deno.FsFile): void {
    this.#writer.countSync();
    const pool = this.#writer.pool;
    while (this.#queue.length > 0 && this.#error === null) {
      const p = this.#queue.shift()!;
      this.#queuedBytes -= p.bytes.length;
      this.#writer.release(p.bytes.length);
      try {
        if (this.#position !== p.offset) {
          this.#position = file.seekSync(p.offset, Deno.SeekMode.Start);
        }
        let done = 0;
        while (done < p.bytes.length) done += file.writeSync(p.bytes.subarray(done));
        this.#position += done;
      } catch (error) {
        this.#fail(error);
      } finally {
        pool?.unref(p.bytes.buffer);
      }
    }
    if (this.#closing) this.#finish();
  }

  #dropQueue(): void {
    this.#writer.release(this.#queuedBytes);
    this.#queuedBytes = 0;
    for (const p of this.#queue) this.#writer.pool?.unref(p.bytes.buffer);
    this.#queue = [];
  }

  #fail(error: unknown): void {
    if (this.#error !== null) return;
    this.#error = error instanceof Error ? error : new Error(String(error));
    this.#dropQueue();
    if (!this.#discard) this.#writer.failed(this.path, this.#error);
    this.#opened(false);
    this.#finish();
  }

  /** Closes (once nothing is in flight and the asynchronous open has settled). */
  #finish(): void {
    if (this.#finished || this.#busy || this.#asyncOpen) return;
    this.#finished = true;
    const file = this.#file;
    this.#file = null;
    try {
      this.#beside?.close();
    } catch {
      // already closed
    }
    this.#beside = null;
    if (file !== null) {
      try {
        if (this.#truncateAtClose && this.#error === null && !this.#discard) {
          file.truncateSync(this.#end);
        }
      } catch (error) {
        this.#error = error instanceof Error ? error : new Error(String(error));
        this.#writer.failed(this.path, this.#error);
      }
      try {
        file.close();
      } catch {
        // already closed
      }
    }
    if (this.#discard) {
      removeQuietly(this.path);
      this.#resolve(this.#error);
    } else {
      this.#resolve(this.#error);
    }
  }
}

/** Removes a file, if it is there (synchronously: an unlink is quick, and never waits for a turn). */
function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone, or not ours to remove
  }
}
