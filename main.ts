/**
 * The packetwave command line.
 *
 * ```sh
 * deno task analyze [FILE...]        # summary of captures (the bundled ones by default)
 * deno run -A main.ts analyze --json capture.pcapng
 * ```
 *
 * @module
 */

import { analyzeCommand } from "./cli/analyze.ts";
import { rulesCommand } from "./cli/rules.ts";
import { liveCommand } from "./cli/live.ts";

/** The version printed by `packetwave --version`. */
export const VERSION = "0.1.0";

const USAGE = `packetwave ${VERSION} — passive SIP/RTP call analyzer and recorder

Usage: packetwave <command> [options]

Commands:
  analyze [FILE...]   analyze capture files (pcap, pcapng; - for stdin)
  live -i IF          capture live traffic and analyze it (libpcap; root)
  rules check         validate rule files and the site file
  rules explain FILE  show why each rule fired or not on a capture's calls
  help                show this help

Run 'packetwave <command> --help' for a command's options.`;

/**
 * Runs the command line.
 *
 * @param args Command-line arguments.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "analyze":
      return await analyzeCommand(rest);
    case "rules":
      return await rulesCommand(rest);
    case "live":
      return await liveCommand(rest);

    case undefined:
    case "help":
    case "-h":
    case "--help":
      console.log(USAGE);
      return 0;
    case "--version":
    case "version":
      console.log(VERSION);
      return 0;
    default:
      console.error(`packetwave: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
