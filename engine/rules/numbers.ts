/**
 * Telephone numbers as a site writes them: extensions found by the site's
 * pattern (`109Q1427` → `1427`), and external numbers in one national form
 * (`+82 10-7714-1436` → `01077141436`), so legs that name the same party
 * differently still match.
 *
 * @module
 */

import { RecentValues } from "../recent_values.ts";

/** How a site writes numbers. */
export interface NumberRules {
  /** Extension pattern; its first capture group (or the whole match) is the extension. */
  extensionPattern: RegExp | null;
  /** Country calling code of the site (`82`), to turn `+82…` and `0082…` into national form. */
  countryCode: string | null;
  /** National trunk prefix (`0`). */
  trunkPrefix: string;
}

/**
 * Normalizes a number: separators removed, international form of the
 * site's own country turned national. Feature codes (`*8`) and names pass
 * unchanged.
 *
 * @param text A user part or display number.
 * @param rules The site's numbering.
 * @returns The normalized text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const rules = { extensionPattern: null, countryCode: "82", trunkPrefix: "0" };
 * assert.equal(normalizeNumber("+82 10-7714-1436", rules), "01077141436");
 * assert.equal(normalizeNumber("*8", rules), "*8");
 * ```
 */
export function normalizeNumber(text: string, rules: NumberRules): string {
  const trimmed = text.trim();
  if (!/^[+\d\s().\-]+$/.test(trimmed)) return trimmed;
  let digits = trimmed.replace(/[\s().\-]/g, "");
  const cc = rules.countryCode;
  if (cc) {
    if (digits.startsWith(`+${cc}`)) digits = rules.trunkPrefix + digits.slice(cc.length + 1);
    else if (digits.startsWith(`00${cc}`)) digits = rules.trunkPrefix + digits.slice(cc.length + 2);
  }
  return digits;
}

/**
 * Finds the extension in a user part with the site's pattern.
 *
 * @param text A user part (`109Q1427`) or number.
 * @param rules The site's numbering.
 * @returns The extension, or `null` when the text is not one.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const rules = { extensionPattern: /^(?:[0-9A-Za-z]*[A-Za-z])?(\d{2,5})$/, countryCode: null, trunkPrefix: "0" };
 * assert.equal(extensionOf("109Q1427", rules), "1427");
 * assert.equal(extensionOf("01077141436", rules), null);
 * ```
 */
export function extensionOf(text: string, rules: NumberRules): string | null {
  const pattern = rules.extensionPattern;
  if (!pattern) return null;
  const m = pattern.exec(text.trim());
  if (!m) return null;
  return m[1] ?? m[0];
}

/** Numbers found lately, per numbering (a site's rules never change once made). */
const PARTY_NUMBERS = new WeakMap<NumberRules, RecentValues<string, string>>();

/**
 * The number that names a party: its extension when it is one, else its normalized number.
 * The same users come back on every call of a site: each is worked out once (remembered per
 * `rules` object, a few thousand at most).
 *
 * @param text A user part, or `null`.
 * @param rules The site's numbering.
 * @returns The party's number, or `null`.
 */
export function partyNumber(text: string | null, rules: NumberRules): string | null {
  if (text === null || text === "") return null;
  let known = PARTY_NUMBERS.get(rules);
  if (known === undefined) PARTY_NUMBERS.set(rules, known = new RecentValues(4096));
  let number = known.get(text);
  if (number === undefined) {
    number = extensionOf(text, rules) ?? normalizeNumber(text, rules);
    known.set(text, number);
  }
  return number;
}
