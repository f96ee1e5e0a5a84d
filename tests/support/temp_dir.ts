/**
 * A test body that gets a fresh temporary directory, removed afterwards
 * whatever the body did.
 *
 * @module
 */

/**
 * Wraps a test body: it is called with a new temporary directory, deleted with its contents
 * once the body settles.
 *
 * @param fn The body.
 * @param prefix Name prefix of the directory.
 * @returns A function for `Deno.test`.
 */
export function withTempDir(
  fn: (dir: string) => void | Promise<void>,
  prefix = "pw-test-",
): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix });
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}
