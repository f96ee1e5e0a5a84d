/**
 * Where the public reference captures live (../shared/captures, beside the
 * repository) and which of them to test.
 *
 * @module
 */

/** Directory of the shared captures. */
export const SHARED_CAPTURES = new URL("../../../shared/captures", import.meta.url).pathname;

/**
 * Lists the capture files, sorted; empty (with a message) when the directory is absent.
 *
 * @returns File names.
 */
export async function sharedCaptures(): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(SHARED_CAPTURES)) {
      if (entry.isFile && /\.(pcap|pcapng)$/.test(entry.name)) names.push(entry.name);
    }
  } catch {
    console.warn(`skipping shared-capture tests: ${SHARED_CAPTURES} is not there`);
  }
  return names.sort();
}
