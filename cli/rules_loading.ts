/**
 * Loading a site file and rule files for a command, with every problem
 * printed as `file:line:column: reason`.
 *
 * @module
 */

import { loadRules, type Rule } from "../engine/rules/rule_set.ts";
import { loadSite, type Site } from "../engine/rules/site.ts";
import type { RuleFileError } from "../engine/rules/located.ts";

/** Rules and site, or the problems that kept them from loading. */
export interface LoadedRules {
  /** The site. */
  site: Site;
  /** The sound rules, by priority. */
  rules: Rule[];
  /** Every problem found, in file order. */
  errors: RuleFileError[];
}

/**
 * Loads the site (the shipped one by default) and the rules (the shipped `rules/` by default).
 *
 * @param rulePaths Rule files or directories.
 * @param sitePath A site file.
 * @returns Site, rules and problems.
 */
export async function loadRulesAndSite(
  rulePaths: string[],
  sitePath?: string,
): Promise<LoadedRules> {
  const { site, errors: siteErrors } = await loadSite(sitePath);
  const { rules, errors } = await loadRules(rulePaths, site);
  return { site, rules, errors: [...siteErrors, ...errors] };
}

/**
 * Prints rule problems on stderr.
 *
 * @param command The command name, for the prefix.
 * @param errors The problems.
 */
export function printRuleErrors(command: string, errors: RuleFileError[]): void {
  for (const e of errors) console.error(`packetwave ${command}: ${e.message}`);
}
