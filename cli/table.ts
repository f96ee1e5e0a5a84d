/**
 * Plain-text tables for the terminal: columns padded to their widest cell,
 * numbers right-aligned.
 *
 * @module
 */

/** A column: its heading and whether cells align right. */
export interface Column {
  /** Heading text. */
  title: string;
  /** Right-align cells (numbers). */
  right?: boolean;
}

/**
 * Renders rows under headings.
 *
 * @param columns The columns.
 * @param rows Cells, one array per row, as many as columns.
 * @param indent Spaces before each line.
 * @returns The table, lines joined with `\n`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = renderTable([{ title: "method" }, { title: "n", right: true }], [["INVITE", "12"]]);
 * assert.equal(text, "method   n\nINVITE  12");
 * ```
 */
export function renderTable(columns: Column[], rows: string[][], indent = 0): string {
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const pad = " ".repeat(indent);
  const line = (cells: string[]) =>
    pad + cells.map((cell, i) => {
      const w = widths[i]!;
      return columns[i]!.right ? cell.padStart(w) : cell.padEnd(w);
    }).join("  ").trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join("\n");
}

/**
 * Formats a byte count for people.
 *
 * @param bytes A count of bytes.
 * @returns Such as `185.2 kB` or `1.3 GB`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatBytes(185175), "185.2 kB");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}
