/**
 * The site file (`rules/site.yaml`): the variables that make rules fit a
 * site — feature codes, how extensions and numbers are written, server
 * addresses, correlation windows, header names. Rules read them as
 * `site.*`; a site with another pickup code edits this file, never a rule.
 *
 * @module
 */

import type { NumberRules } from "./numbers.ts";
import { displayPath } from "./rule_set.ts";
import { documentOf, type LocatedDocument, RuleFileError } from "./located.ts";
import { readLocatedYaml, type YamlCacheOptions } from "./yaml_cache.ts";

/** The built-in part of a site file; a site may add its own keys, which rules read as `site.<key>`. */
export interface SiteSettings {
  /** A name for reports. */
  name: string;
  /** Addresses of the site's PBX or Centrex servers; empty when unknown. */
  servers: string[];
  /** Feature codes by purpose: `pickup`, and any a site adds. */
  featureCodes: Record<string, string[]>;
  /** How numbers are written. */
  numbers: {
    /** Regular expression of an extension; its first capture group is the extension. */
    extensionPattern: string;
    /** Country calling code, for `+CC` numbers; empty when not used. */
    countryCode: string;
    /** National trunk prefix. */
    trunkPrefix: string;
  };
  /** Correlation windows, seconds. */
  windows: {
    /** A B2BUA's second leg starts within this of the first. */
    b2buaSeconds: number;
    /** A pickup's answer and the ringing leg's cancel are at most this apart. */
    pickupSeconds: number;
    /** The next hunt attempt starts within this of the previous one's end. */
    huntSeconds: number;
    /** The transfer target's leg starts within this of the REFER. */
    transferSeconds: number;
    /** A logical call is written this long after its last leg completed (late links). */
    correlationSeconds: number;
  };
  /** Header names rules use. */
  headers: {
    /** Headers that carry a correlation id shared by a B2BUA's legs. */
    correlation: string[];
    /** The header a phone adds when its transfer/pickup button was pressed. */
    transferButton: string;
  };
}

/** A loaded site: its settings and every variable as rules see them. */
export interface Site {
  /** File it came from, or `(built-in)`. */
  file: string;
  /** The settings. */
  settings: SiteSettings;
  /** Everything in the file (built-in keys merged with defaults), as `site.*` in rules. */
  variables: Record<string, unknown>;
  /** Number rules derived from `numbers`. */
  numberRules: NumberRules;
}

/** The defaults, which the shipped `rules/site.yaml` spells out. */
export const DEFAULT_SITE: SiteSettings = {
  name: "default",
  servers: [],
  featureCodes: { pickup: ["*8"] },
  numbers: {
    extensionPattern: "^(?:[0-9A-Za-z]*[A-Za-z])?(\\d{2,5})$",
    countryCode: "82",
    trunkPrefix: "0",
  },
  windows: {
    b2buaSeconds: 2,
    pickupSeconds: 10,
    huntSeconds: 15,
    transferSeconds: 30,
    correlationSeconds: 10,
  },
  headers: {
    correlation: ["X-CID", "X-Call-ID", "Session-ID"],
    transferButton: "X-xfer-pressed",
  },
};

/** The site file shipped with packetwave. */
export const DEFAULT_SITE_FILE: URL = new URL("../../rules/site.yaml", import.meta.url);

type Check = (value: unknown) => string | null;

const stringList: Check = (v) =>
  Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")
    ? null
    : "must be a list of strings";
const text: Check = (v) =>
  typeof v === "string" || typeof v === "number" ? null : "must be a string";
const seconds: Check = (v) =>
  typeof v === "number" && v >= 0 && Number.isFinite(v) ? null : "must be a number of seconds ≥ 0";

const SCHEMA: Record<string, Check | Record<string, Check>> = {
  name: text,
  servers: stringList,
  featureCodes: {},
  numbers: { extensionPattern: text, countryCode: text, trunkPrefix: text },
  windows: {
    b2buaSeconds: seconds,
    pickupSeconds: seconds,
    huntSeconds: seconds,
    transferSeconds: seconds,
    correlationSeconds: seconds,
  },
  headers: { correlation: stringList, transferButton: text },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Builds a site from a parsed document, reporting every problem with its position.
 *
 * @param doc The parsed site file.
 * @returns The site and the problems (the site uses defaults where the file is wrong).
 */
export function siteFromDocument(doc: LocatedDocument): { site: Site; errors: RuleFileError[] } {
  const errors: RuleFileError[] = [];
  const root = doc.value === null ? Object.create(null) : doc.value;
  const settings: SiteSettings = structuredClone(DEFAULT_SITE);
  const variables: Record<string, unknown> = Object.create(null);
  if (!isRecord(root)) {
    errors.push(new RuleFileError(doc.file, doc.at([]), "a site file must be a map of settings"));
  } else {
    for (const [key, value] of Object.entries(root)) {
      const check = SCHEMA[key];
      if (check === undefined) {
        variables[key] = value; // a site's own variable
        continue;
      }
      if (typeof check === "function") {
        const problem = check(value);
        if (problem) {
          errors.push(new RuleFileError(doc.file, doc.at([key]), `site '${key}' ${problem}`));
        } else (settings as unknown as Record<string, unknown>)[key] = value;
        continue;
      }
      if (!isRecord(value)) {
        errors.push(new RuleFileError(doc.file, doc.at([key]), `site '${key}' must be a map`));
        continue;
      }
      const target = (settings as unknown as Record<string, Record<string, unknown>>)[key]!;
      for (const [sub, subValue] of Object.entries(value)) {
        const subCheck = key === "featureCodes" ? stringList : check[sub];
        if (subCheck === undefined) {
          errors.push(
            new RuleFileError(doc.file, doc.keyAt([key, sub]), `unknown setting '${key}.${sub}'`),
          );
          continue;
        }
        const problem = subCheck(subValue);
        if (problem) {
          errors.push(
            new RuleFileError(doc.file, doc.at([key, sub]), `site '${key}.${sub}' ${problem}`),
          );
        } else {
          target[sub] = Array.isArray(subValue) ? subValue.map(String) : subValue;
        }
      }
    }
  }
  let extensionPattern: RegExp | null = null;
  try {
    extensionPattern = settings.numbers.extensionPattern
      ? new RegExp(settings.numbers.extensionPattern)
      : null;
  } catch (e) {
    errors.push(
      new RuleFileError(
        doc.file,
        doc.at(["numbers", "extensionPattern"]),
        `bad extensionPattern: ${(e as Error).message}`,
      ),
    );
  }
  Object.assign(variables, settings);
  return {
    site: {
      file: doc.file,
      settings,
      variables,
      numberRules: {
        extensionPattern,
        countryCode: settings.numbers.countryCode ? String(settings.numbers.countryCode) : null,
        trunkPrefix: String(settings.numbers.trunkPrefix),
      },
    },
    errors,
  };
}

/**
 * Parses site text.
 *
 * @param text YAML text.
 * @param file Name for messages.
 * @param cache Where parsed files are kept (see `yaml_cache.ts`).
 * @returns The site and every problem found.
 */
export async function parseSite(
  text: string,
  file: string,
  cache: YamlCacheOptions = {},
): Promise<{ site: Site; errors: RuleFileError[] }> {
  const { document, errors } = await readLocatedYaml(text, file, cache);
  const built = siteFromDocument(document);
  return { site: built.site, errors: [...errors, ...built.errors] };
}

/**
 * Loads a site file; with no path, the shipped `rules/site.yaml`.
 *
 * @param path A path or URL.
 * @returns The site and every problem found.
 */
export async function loadSite(
  path?: string | URL,
): Promise<{ site: Site; errors: RuleFileError[] }> {
  const target = path ?? DEFAULT_SITE_FILE;
  const name = displayPath(typeof target === "string" ? target : target.pathname);
  let text: string;
  try {
    text = await Deno.readTextFile(target);
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    return {
      site: siteFromDocument(
        documentOf(name, { value: Object.create(null), positions: [], keyPositions: [] }),
      ).site,
      errors: [new RuleFileError(name, { line: 1, column: 1 }, `cannot read site file: ${reason}`)],
    };
  }
  return parseSite(text, name);
}
