/**
 * `packetwave rules check [PATH...]` validates rule files and a site file;
 * `packetwave rules explain CAPTURE [--call CALL-ID]` shows, for each rule
 * evaluated on a call's events, what its condition read and why it fired or
 * not, then the logical call it ended in.
 *
 * @module
 */

import type { LogicalCallRecord } from "../engine/rules/logical_calls.ts";
import { parseArgs } from "node:util";
import { Analyzer } from "../engine/analyzer.ts";
import { explainFilter, type Explanation } from "../engine/rules/engine.ts";
import { clockTime } from "./calls_table.ts";
import { loadRulesAndSite, printRuleErrors } from "./rules_loading.ts";

const USAGE = `Usage:
  packetwave rules check [PATH...] [--site FILE]
      Validates rule files (default: the shipped rules/) and the site file.
      Exits 1 when any has a mistake; each is printed as file:line:column: reason.

  packetwave rules explain CAPTURE [--call CALL-ID] [--rules PATH] [--site FILE] [--json]
      Analyzes CAPTURE and shows, for every rule evaluated on the events of
      the call (all calls without --call), the values its condition read and
      why it matched or not.`;

/**
 * Runs `rules check` or `rules explain`.
 *
 * @param args Arguments after `rules`.
 * @returns The exit code.
 */
export async function rulesCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "check") return await check(rest);
  if (sub === "explain") return await explain(rest);
  if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") {
    console.log(USAGE);
    return sub === undefined ? 2 : 0;
  }
  console.error(`packetwave rules: unknown subcommand '${sub}'\n\n${USAGE}`);
  return 2;
}

function parse(
  args: string[],
  options: Record<string, { type: "string" | "boolean"; multiple?: boolean }>,
) {
  try {
    return parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    console.error(`packetwave rules: ${(error as Error).message}\n\n${USAGE}`);
    return null;
  }
}

async function check(args: string[]): Promise<number> {
  const parsed = parse(args, { site: { type: "string" } });
  if (!parsed) return 2;
  const loaded = await loadRulesAndSite(
    parsed.positionals,
    parsed.values.site as string | undefined,
  );
  if (loaded.errors.length > 0) {
    printRuleErrors("rules check", loaded.errors);
    console.error(`${loaded.errors.length} problem(s)`);
    return 1;
  }
  const files = new Set(loaded.rules.map((r) => r.file));
  console.log(
    `ok: ${loaded.rules.length} rules in ${files.size} file(s); site ${loaded.site.file}`,
  );
  for (const rule of loaded.rules) {
    console.log(
      `  ${String(rule.priority).padStart(4)}  ${rule.id.padEnd(36)} on ${rule.on.join(", ")}`,
    );
  }
  return 0;
}

async function explain(args: string[]): Promise<number> {
  const parsed = parse(args, {
    call: { type: "string" },
    rules: { type: "string", multiple: true },
    site: { type: "string" },
    json: { type: "boolean" },
  });
  if (!parsed) return 2;
  const capture = parsed.positionals[0];
  if (!capture) {
    console.error(`packetwave rules explain: a capture file is needed\n\n${USAGE}`);
    return 2;
  }
  const loaded = await loadRulesAndSite(
    (parsed.values.rules as string[] | undefined) ?? [],
    parsed.values.site as string | undefined,
  );
  if (loaded.errors.length > 0) {
    printRuleErrors("rules explain", loaded.errors);
    return 1;
  }
  const callId = (parsed.values.call as string | undefined) ?? null;
  const analyzer = new Analyzer({
    rules: { rules: loaded.rules, site: loaded.site, explain: explainFilter(callId) },
  });
  if (!(await analyzer.analyzeFile(capture))) {
    console.error(
      `packetwave rules explain: ${capture}: ${
        analyzer.finish().inputs[0]?.error ?? "cannot read"
      }`,
    );
    return 1;
  }
  analyzer.finish();
  const explanations = analyzer.rules!.explanations;
  const legIds = new Set(
    explanations.map((e) => e.legId).filter((id): id is string => id !== null),
  );
  // Read one at a time (a long capture's logical calls are not all held), then the spill goes.
  const calls: LogicalCallRecord[] = [];
  for (const c of analyzer.records().logicalCalls) {
    if (c.legs.some((l) => legIds.has(l.id))) calls.push(c);
  }
  analyzer.dispose();
  if (callId !== null && legIds.size === 0) {
    console.error(`packetwave rules explain: no call with Call-ID ${callId} in ${capture}`);
    return 1;
  }
  if (parsed.values.json) {
    console.log(JSON.stringify({ explanations, logicalCalls: calls }, null, 2));
    return 0;
  }
  for (const legId of legIds) {
    console.log(`\nLeg ${legId}`);
    for (const e of explanations.filter((x) => x.legId === legId)) {
      console.log(renderExplanation(e));
    }
  }
  for (const c of calls) {
    console.log(
      `\nLogical call ${c.id}: ${c.scenarios.join("+") || "(no scenario)"}, ${c.caller ?? "?"} → ${
        c.callee ?? "?"
      }`,
    );
    for (const l of c.legs) {
      const relations = l.relations.map((r) => `${r.relation} ${r.to}`).join("; ");
      console.log(`  ${l.id}: ${relations || "initial"}`);
    }
  }
  return 0;
}

/**
 * Renders one explanation as a few lines.
 *
 * @param e The explanation.
 * @returns Text.
 */
export function renderExplanation(e: Explanation): string {
  const lines = [
    `  ${clockTime(e.ts)} ${e.event.padEnd(18)} ${
      e.matched ? "FIRED" : "no   "
    } ${e.rule} (${e.where}): ${e.reason}`,
  ];
  for (const [name, value] of Object.entries(e.values)) {
    lines.push(`      ${name} = ${JSON.stringify(value)}`);
  }
  if (e.failedClause) {
    lines.push(`      false at clause ${e.failedClause.index + 1}: ${e.failedClause.clause}`);
  }
  for (const f of e.finds) {
    const kept = f.matched.length ? ` (${f.matched.join(", ")})` : "";
    lines.push(
      `      find ${f.name}: ${f.matched.length} of ${f.candidates} candidate legs matched${kept}`,
    );
    for (const r of f.rejected) {
      const values = Object.entries(r.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(
        ", ",
      );
      lines.push(
        `        ${r.leg}: clause ${r.index + 1} false: ${r.clause}${
          values ? `  [${values}]` : ""
        }`,
      );
    }
  }
  for (const a of e.actions) lines.push(`      → ${a}`);
  return lines.join("\n");
}
