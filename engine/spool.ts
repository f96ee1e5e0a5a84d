/**
 * A list of records that stays small in memory: the first records are kept
 * as they are; past a threshold they go to a temporary file as JSON text
 * (indented as the report writes it, each record ended by U+001E and a
 * newline), and are read back in order when the list is walked. A long capture then
 * needs the same memory as a short one with the same calls at once.
 *
 * @module
 */

const ENCODER = new TextEncoder();

/**
 * Spaces per level of the JSON text of spilled records: the report's own
 * indent, so the report copies them as they are instead of parsing them.
 */
const SPOOL_INDENT = 2;
/** Ends each spilled record in the file (JSON text never holds a raw U+001E: it is escaped). */
const RECORD_END = "\x1e\n";

/** An append-only list of JSON-serializable records, spilled to disk past a threshold. */
export class RecordSpool<T> {
  readonly #memory: T[] = [];
  readonly #threshold: number;
  readonly #dir: string | undefined;
  #file: Deno.FsFile | null = null;
  #path: string | null = null;
  #pending: string[] = [];
  #pendingBytes = 0;
  #spilled = 0;

  /**
   * @param threshold Records kept in memory before spilling to a temporary file.
   * @param dir Directory of the temporary file (the system's by default).
   */
  constructor(threshold = 256, dir?: string) {
    this.#threshold = threshold;
    this.#dir = dir;
  }

  /** Records held. */
  get length(): number {
    return this.#memory.length + this.#spilled;
  }

  /**
   * Adds a record (serialized at once when spilling, so it may change afterwards).
   *
   * @param record The record.
   */
  push(record: T): void {
    if (this.#memory.length < this.#threshold) {
      this.#memory.push(record);
      return;
    }
    const text = JSON.stringify(record, null, SPOOL_INDENT);
    this.#pending.push(text);
    this.#pendingBytes += text.length;
    this.#spilled++;
    if (this.#pendingBytes > 1 << 20) this.#flush();
  }

  /** Every record in order (the spilled ones read back from disk). */
  *[Symbol.iterator](): IterableIterator<T> {
    yield* this.#memory;
    for (const text of this.#spilledTexts()) yield JSON.parse(text) as T;
  }

  /**
   * Every record in order as JSON text, as `JSON.stringify(record, null, indent)`
   * writes it: the spilled ones are copied from disk without parsing when
   * `indent` is {@link SPOOL_INDENT}.
   *
   * @param indent Spaces per level.
   */
  *jsonTexts(indent: number): IterableIterator<string> {
    for (const record of this.#memory) yield JSON.stringify(record, null, indent) ?? "null";
    for (const text of this.#spilledTexts()) {
      yield indent === SPOOL_INDENT ? text : JSON.stringify(JSON.parse(text), null, indent);
    }
  }

  /** The JSON text of each spilled record, read back from disk in order. */
  *#spilledTexts(): IterableIterator<string> {
    if (this.#spilled === 0) return;
    this.#flush();
    const file = Deno.openSync(this.#path!, { read: true });
    try {
      const decoder = new TextDecoder();
      const chunk = new Uint8Array(1 << 16);
      let rest = "";
      for (;;) {
        const n = file.readSync(chunk);
        if (n === null || n === 0) break;
        const texts = (rest + decoder.decode(chunk.subarray(0, n), { stream: true }))
          .split(RECORD_END);
        rest = texts.pop()!;
        for (const text of texts) yield text;
      }
      if (rest !== "") yield rest;
    } finally {
      file.close();
    }
  }

  /** All records as an array (loads the spilled ones: for short captures and tests). */
  toArray(): T[] {
    return [...this];
  }

  /** Deletes the temporary file. */
  dispose(): void {
    this.#file?.close();
    this.#file = null;
    if (this.#path) {
      try {
        Deno.removeSync(this.#path);
      } catch {
        // already gone
      }
      this.#path = null;
    }
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    if (!this.#file) {
      this.#path = Deno.makeTempFileSync({
        dir: this.#dir,
        prefix: "packetwave-spool-",
        suffix: ".records",
      });
      this.#file = Deno.openSync(this.#path, { write: true, append: true });
    }
    const bytes = ENCODER.encode(this.#pending.join(RECORD_END) + RECORD_END);
    let written = 0;
    while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
