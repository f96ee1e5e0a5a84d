/**
 * A progress bar on standard error, drawn only when stderr is a terminal
 * and at most a few times a second, so pipes and CI logs stay clean.
 *
 * @module
 */

const ENCODER = new TextEncoder();

/** Draws `[#####.....]  45%  123.4 MB  name` on one line of stderr. */
export class ProgressBar {
  readonly #enabled: boolean;
  readonly #intervalMs: number;
  #lastDraw = 0;
  #drawn = false;

  /**
   * @param enabled Draw at all; by default only when stderr is a terminal.
   * @param intervalMs Least time between redraws.
   */
  constructor(enabled = Deno.stderr.isTerminal(), intervalMs = 100) {
    this.#enabled = enabled;
    this.#intervalMs = intervalMs;
  }

  /**
   * Reports progress.
   *
   * @param done Bytes done.
   * @param total Bytes in all, or 0 when unknown.
   * @param label What is being read.
   */
  update(done: number, total: number, label: string): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#lastDraw < this.#intervalMs) return;
    this.#lastDraw = now;
    const mb = `${(done / 1e6).toFixed(1)} MB`;
    let line: string;
    if (total > 0) {
      const fraction = Math.min(1, done / total);
      const width = 30;
      const filled = Math.round(fraction * width);
      line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${
        (fraction * 100).toFixed(0).padStart(3)
      }%  ${mb}  ${label}`;
    } else {
      line = `${mb}  ${label}`;
    }
    Deno.stderr.writeSync(ENCODER.encode(`\r${line.slice(0, 100)}\x1b[K`));
    this.#drawn = true;
  }

  /** Erases the bar. */
  clear(): void {
    if (this.#drawn) Deno.stderr.writeSync(ENCODER.encode("\r\x1b[K"));
    this.#drawn = false;
  }
}
