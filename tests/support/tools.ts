/**
 * Whether the external programs tests compare against are here.
 *
 * @module
 */

/**
 * Whether an external program runs (`name args` exits 0).
 *
 * @param name Program name.
 * @param args Arguments of a harmless invocation.
 * @returns True when it ran and succeeded.
 */
export function toolWorks(name: string, args: string[] = ["--version"]): boolean {
  try {
    return new Deno.Command(name, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}
