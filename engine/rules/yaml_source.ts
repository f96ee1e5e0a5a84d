/**
 * YAML with positions: parses a rule or site file into plain values and
 * remembers where each value (and each map key) stands, so validation errors
 * can name file, line and column.
 *
 * @module
 */

import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

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

function pathKey(path: readonly (string | number)[]): string {
  return path.join("\u0000");
}

/**
 * Parses YAML text, collecting syntax errors instead of throwing.
 *
 * @param text The file's text.
 * @param file Its name for messages.
 * @returns The document and any syntax errors.
 */
export function parseLocatedYaml(
  text: string,
  file: string,
): { document: LocatedDocument; errors: RuleFileError[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: RuleFileError[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(e.pos[0]);
    errors.push(
      new RuleFileError(file, { line: pos.line, column: pos.col }, e.message.split("\n")[0]!),
    );
  }
  const positions = new Map<string, Position>();
  const keyPositions = new Map<string, Position>();
  const where = (offset: number | undefined): Position => {
    const p = lines.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };

  function convert(node: unknown, path: (string | number)[]): unknown {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return convert(node.resolve(doc), path);
    const range = (node as { range?: [number, number, number] }).range;
    positions.set(pathKey(path), where(range?.[0]));
    if (isScalar(node)) return node.value;
    if (isSeq(node)) return node.items.map((item, i) => convert(item, [...path, i]));
    if (isMap(node)) {
      const out = Object.create(null) as Record<string, unknown>;
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
        const keyRange = (keyNode as { range?: [number, number, number] } | null)?.range;
        keyPositions.set(pathKey([...path, key]), where(keyRange?.[0]));
        const value = convert(pair.value, [...path, key]);
        if (!positions.has(pathKey([...path, key]))) {
          positions.set(pathKey([...path, key]), where(keyRange?.[0]));
        }
        out[key] = value;
      }
      return out;
    }
    return null;
  }

  const value = errors.length > 0 ? null : convert(doc.contents, []);
  const nearest = (map: Map<string, Position>, path: readonly (string | number)[]) => {
    for (let n = path.length; n >= 0; n--) {
      const p = map.get(pathKey(path.slice(0, n))) ?? positions.get(pathKey(path.slice(0, n)));
      if (p) return p;
    }
    return { line: 1, column: 1 };
  };
  return {
    document: {
      file,
      value,
      at: (path) => nearest(positions, path),
      keyAt: (path) => nearest(keyPositions, path),
    },
    errors,
  };
}
