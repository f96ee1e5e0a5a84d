/**
 * YAML with positions: parses a rule or site file into plain values and
 * remembers where each value (and each map key) stands, so validation errors
 * can name file, line and column. Loaded only when a file is not in the
 * cache of parsed files (`yaml_cache.ts`).
 *
 * @module
 */

import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import {
  documentOf,
  type LocatedData,
  type LocatedDocument,
  pathKey,
  type Position,
  RuleFileError,
} from "./located.ts";

/**
 * Parses YAML text, collecting syntax errors instead of throwing.
 *
 * @param text The file's text.
 * @param file Its name for messages.
 * @returns The document, its data (`null` after a syntax error) and any syntax errors.
 */
export function parseLocatedYaml(
  text: string,
  file: string,
): { document: LocatedDocument; data: LocatedData | null; errors: RuleFileError[] } {
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
  const data: LocatedData = {
    value,
    positions: [...positions],
    keyPositions: [...keyPositions],
  };
  return { document: documentOf(file, data), data: errors.length > 0 ? null : data, errors };
}
