/**
 * A cache of parsed rule and site files. Loading the YAML parser and running
 * it cold takes about 70 ms, a quarter of the time `analyze` needs on a small
 * capture; the shipped rules change rarely. A parsed file (its value and
 * positions, {@linkcode LocatedData}) is kept as JSON under the SHA-256 of
 * its text, so an edited file is simply another entry: nothing can go stale.
 *
 * The cache directory is `$PACKETWAVE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/packetwave`, else `~/.cache/packetwave`. Whatever goes
 * wrong with it (no home, a read-only file system, no permission, a damaged
 * entry) only means the file is parsed again: the cache never changes what a
 * file says nor hides its errors (files with errors are never kept).
 *
 * @module
 */

import {
  documentOf,
  type LocatedData,
  type LocatedDocument,
  type RuleFileError,
} from "./located.ts";

/** Format of the entries; an entry of another version is ignored. */
const ENTRY_VERSION = 1;
/** Entries kept at most; past this, the oldest are removed when one is added. */
export const MAX_CACHE_ENTRIES = 128;

/** Where the cache is (`null`: no cache). */
export interface YamlCacheOptions {
  /** The directory; by default from the environment (see the module). */
  dir?: string | null;
}

/**
 * The cache directory the environment names, or `null`.
 *
 * @returns A directory path.
 */
export function defaultCacheDir(): string | null {
  try {
    const explicit = Deno.env.get("PACKETWAVE_CACHE_DIR");
    if (explicit) return `${explicit}/yaml`;
    const xdg = Deno.env.get("XDG_CACHE_HOME");
    if (xdg) return `${xdg}/packetwave/yaml`;
    const home = Deno.env.get("HOME");
    return home ? `${home}/.cache/packetwave/yaml` : null;
  } catch {
    return null; // no permission to read the environment
  }
}

/**
 * Parses a rule or site file, from the cache when its text was parsed
 * before.
 *
 * @param text The file's text.
 * @param file Its name for messages.
 * @param options The cache directory.
 * @returns The document and any syntax errors.
 */
export async function readLocatedYaml(
  text: string,
  file: string,
  options: YamlCacheOptions = {},
): Promise<{ document: LocatedDocument; errors: RuleFileError[] }> {
  const dir = options.dir === undefined ? defaultCacheDir() : options.dir;
  const key = dir === null ? null : await digest(text);
  if (dir !== null && key !== null) {
    const cached = await readEntry(`${dir}/${key}.json`);
    if (cached !== null) return { document: documentOf(file, cached), errors: [] };
  }
  const { parseLocatedYaml } = await import("./yaml_source.ts");
  const parsed = parseLocatedYaml(text, file);
  if (dir !== null && key !== null && parsed.data !== null && isPlainJson(parsed.data.value)) {
    await writeEntry(dir, key, parsed.data);
  }
  return { document: parsed.document, errors: parsed.errors };
}

/** SHA-256 of the text, in hex (`null` where Web Crypto is missing). */
async function digest(text: string): Promise<string | null> {
  try {
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return null;
  }
}

/** A cache entry, or `null` when it is missing or not what this version writes. */
async function readEntry(path: string): Promise<LocatedData | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const entry = raw as {
    version?: unknown;
    value?: unknown;
    positions?: unknown;
    keyPositions?: unknown;
  };
  if (
    entry.version !== ENTRY_VERSION || !isPositionList(entry.positions) ||
    !isPositionList(entry.keyPositions) || !("value" in entry)
  ) {
    return null;
  }
  return {
    value: withNullPrototypes(entry.value),
    positions: entry.positions,
    keyPositions: entry.keyPositions,
  };
}

/** Stores an entry (written aside, then renamed: a reader never sees half of one). */
async function writeEntry(dir: string, key: string, data: LocatedData): Promise<void> {
  const temporary = `${dir}/${key}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(temporary, JSON.stringify({ version: ENTRY_VERSION, ...data }));
    await Deno.rename(temporary, `${dir}/${key}.json`);
    await trim(dir);
  } catch {
    await Deno.remove(temporary).catch(() => {});
  }
}

/** Removes the oldest entries past {@linkcode MAX_CACHE_ENTRIES}. */
async function trim(dir: string): Promise<void> {
  const entries: { path: string; mtime: number }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const path = `${dir}/${e.name}`;
    const info = await Deno.stat(path).catch(() => null);
    entries.push({ path, mtime: info?.mtime?.getTime() ?? 0 });
  }
  if (entries.length <= MAX_CACHE_ENTRIES) return;
  entries.sort((a, b) => a.mtime - b.mtime);
  for (const e of entries.slice(0, entries.length - MAX_CACHE_ENTRIES)) {
    await Deno.remove(e.path).catch(() => {});
  }
}

function isPositionList(value: unknown): value is [string, { line: number; column: number }][] {
  return Array.isArray(value) &&
    value.every((p) =>
      Array.isArray(p) && p.length === 2 && typeof p[0] === "string" &&
      typeof p[1] === "object" && p[1] !== null &&
      Number.isInteger((p[1] as { line?: unknown }).line) &&
      Number.isInteger((p[1] as { column?: unknown }).column)
    );
}

/** Whether JSON keeps the value as it is (no infinite or NaN numbers, nothing but plain data). */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (typeof value === "object") return Object.values(value).every(isPlainJson);
  return false;
}

/** Maps as the parser gives them: null-prototype objects (a `__proto__` key stays a key). */
function withNullPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withNullPrototypes);
  if (typeof value !== "object" || value === null) return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) out[k] = withNullPrototypes(v);
  return out;
}
