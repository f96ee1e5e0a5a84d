/**
 * Documents with positions: a rule or site file's plain value and where each
 * value (and each map key) stands in the file, so validation errors can name
 * file, line and column. Parsing YAML into one is `yaml_source.ts`'s job;
 * `yaml_cache.ts` keeps parsed ones, so most runs never load the YAML parser.
 *
 * @module
 */

/** A 1-based line and column. */
export interface Position {
  /** Line, from 1. */
  line: number;
  /** Column, from 1. */
  column: number;
}

/** A problem in a rule or site file, with where it is. */
export class RuleFileError extends SyntaxError {
  /** The file. */
  readonly file: string;
  /** Line, from 1. */
  readonly line: number;
  /** Column, from 1. */
  readonly column: number;
  /** The reason alone, without the location. */
  readonly reason: string;

  /**
   * @param file The file.
   * @param position Where the problem is.
   * @param reason What is wrong.
   */
  constructor(file: string, position: Position, reason: string) {
    super(`${file}:${position.line}:${position.column}: ${reason}`);
    this.name = "RuleFileError";
    this.file = file;
    this.line = position.line;
    this.column = position.column;
    this.reason = reason;
  }
}

/** A parsed file: its value and where each part of it is. */
export interface LocatedDocument {
  /** The file name used in messages. */
  file: string;
  /** The plain value (maps become null-prototype objects). */
  value: unknown;
  /** Where the value at a path is (the nearest known ancestor when the path itself is unknown). */
  at(path: readonly (string | number)[]): Position;
  /** Where the key of a map entry is. */
  keyAt(path: readonly (string | number)[]): Position;
}

/** What a parsed file holds, in a form that can be stored as JSON. */
export interface LocatedData {
  /** The plain value (maps are null-prototype objects). */
  value: unknown;
  /** Where the value at each path is, by {@linkcode pathKey}. */
  positions: [string, Position][];
  /** Where the key of each map entry is, by {@linkcode pathKey}. */
  keyPositions: [string, Position][];
}

/**
 * The key of a path in {@linkcode LocatedData}.
 *
 * @param path Map keys and list indexes from the root.
 * @returns The key.
 */
export function pathKey(path: readonly (string | number)[]): string {
  return path.join("\u0000");
}

/**
 * A document over located data.
 *
 * @param file The file name used in messages.
 * @param data The value and its positions.
 * @returns The document.
 */
export function documentOf(file: string, data: LocatedData): LocatedDocument {
  const positions = new Map(data.positions);
  const keyPositions = new Map(data.keyPositions);
  const nearest = (map: Map<string, Position>, path: readonly (string | number)[]) => {
    for (let n = path.length; n >= 0; n--) {
      const p = map.get(pathKey(path.slice(0, n))) ?? positions.get(pathKey(path.slice(0, n)));
      if (p) return p;
    }
    return { line: 1, column: 1 };
  };
  return {
    file,
    value: data.value,
    at: (path) => nearest(positions, path),
    keyAt: (path) => nearest(keyPositions, path),
  };
}
