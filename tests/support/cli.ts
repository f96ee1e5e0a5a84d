/**
 * Runs the packetwave command line as a user would, for end-to-end tests.
 *
 * @module
 */

/** The repository's root directory. */
export const ROOT: string = new URL("../..", import.meta.url).pathname;

/** What a run of the command line gave. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Standard output, as text. */
  stdout: string;
  /** Standard error, as text. */
  stderr: string;
}

/**
 * Runs `main.ts` with the arguments, from the repository's root.
 *
 * @param args Command-line arguments (the command first).
 * @returns Exit code and output.
 */
export async function cli(...args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}
