/**
 * Strict readers of what the exports write, for tests: an RFC 4180 CSV
 * reader, and a well-formedness check of XML (the ladder's HTML is written
 * as well-formed XML, so the same check applies).
 *
 * @module
 */

/**
 * Reads CSV strictly by RFC 4180: CRLF record ends, fields quoted when they
 * hold a comma, quote, CR or LF, quotes doubled inside quotes.
 *
 * @param text CSV text.
 * @returns The records.
 * @throws {SyntaxError} On anything RFC 4180 does not allow.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCsv('a,"b,""c"""\r\n'), [["a", 'b,"c"']]);
 * ```
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new SyntaxError("unterminated quoted field");
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      const m = /[,\r]/.exec(text.slice(i));
      const end = m ? i + m.index : text.length;
      field = text.slice(i, end);
      if (field.includes('"') || field.includes("\n")) {
        throw new SyntaxError(`bare quote or LF in an unquoted field: ${field}`);
      }
      i = end;
    }
    row.push(field);
    if (text[i] === ",") {
      i++;
    } else if (text.startsWith("\r\n", i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (i < text.length) {
      throw new SyntaxError(`unexpected ${JSON.stringify(text[i])} at ${i}`);
    }
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/** An element found by {@link checkWellFormed}. */
export interface XmlElement {
  /** Tag name. */
  name: string;
  /** Attributes, in order. */
  attributes: [string, string][];
  /** Text directly inside (entities decoded), for elements without children. */
  text: string;
}

const ENTITY = /^&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/;
const NAMED: ReadonlyMap<string, string> = new Map([
  ["amp", "&"],
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
]);

function decode(text: string, at: number): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "<") throw new SyntaxError(`raw '<' at ${at + i}`);
    if (c !== "&") {
      out += c;
      continue;
    }
    const m = ENTITY.exec(text.slice(i));
    if (!m) throw new SyntaxError(`bare '&' at ${at + i}`);
    const name = m[1]!;
    out += name.startsWith("#x")
      ? String.fromCodePoint(parseInt(name.slice(2), 16))
      : name.startsWith("#")
      ? String.fromCodePoint(Number(name.slice(1)))
      : NAMED.get(name)!;
    i += m[0].length - 1;
  }
  return out;
}

/**
 * Checks that a document is well-formed XML (a leading `<!DOCTYPE html>` is
 * allowed): tags nest and close, attributes are quoted and hold no raw `<`,
 * every `&` starts an entity, text holds no raw `<`.
 *
 * @param text The document.
 * @returns Every element, in document order.
 * @throws {SyntaxError} At the first defect.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(checkWellFormed('<a x="1"><b>&lt;</b></a>')[1]!.text, "<");
 * assert.throws(() => checkWellFormed("<a><b></a>"));
 * ```
 */
export function checkWellFormed(text: string): XmlElement[] {
  const elements: XmlElement[] = [];
  const open: XmlElement[] = [];
  let i = 0;
  const prolog = /^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE html>\s*)?/i.exec(text);
  i = prolog ? prolog[0].length : 0;
  let roots = 0;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    const content = decode(chunk, i);
    if (open.length > 0) open.at(-1)!.text += content;
    else if (content.trim() !== "") throw new SyntaxError(`text outside the root at ${i}`);
    if (lt < 0) break;
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt + 4);
      if (end < 0) throw new SyntaxError(`unterminated comment at ${lt}`);
      i = end + 3;
      continue;
    }
    const gt = text.indexOf(">", lt);
    if (gt < 0) throw new SyntaxError(`unterminated tag at ${lt}`);
    const tag = text.slice(lt + 1, gt);
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const top = open.pop();
      if (!top || top.name !== name) {
        throw new SyntaxError(`</${name}> at ${lt} closes <${top?.name ?? "nothing"}>`);
      }
    } else {
      const selfClosing = tag.endsWith("/");
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z][\w:.-]*)/.exec(body);
      if (!m) throw new SyntaxError(`bad tag name at ${lt}: <${tag.slice(0, 20)}`);
      const element: XmlElement = { name: m[1]!, attributes: [], text: "" };
      let rest = body.slice(m[0].length);
      const names = new Set<string>();
      while (rest.trim() !== "") {
        const a = /^\s+([A-Za-z_:][\w:.-]*)="([^"]*)"/.exec(rest);
        if (!a) throw new SyntaxError(`bad attribute at ${lt}: ${rest.slice(0, 30)}`);
        if (names.has(a[1]!)) throw new SyntaxError(`repeated attribute ${a[1]} at ${lt}`);
        names.add(a[1]!);
        element.attributes.push([a[1]!, decode(a[2]!, lt)]);
        rest = rest.slice(a[0].length);
      }
      if (open.length === 0) roots++;
      if (roots > 1) throw new SyntaxError(`second root element at ${lt}`);
      elements.push(element);
      if (!selfClosing) open.push(element);
    }
    i = gt + 1;
  }
  if (open.length > 0) throw new SyntaxError(`<${open.at(-1)!.name}> is never closed`);
  if (roots === 0) throw new SyntaxError("no root element");
  return elements;
}
