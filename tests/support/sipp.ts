/**
 * Places real SIP calls with sipp on loopback for tests: a UAS that answers
 * and a UAC that plays G.711 RTP (sipp's built-in `uac_pcap`), on
 * addresses picked at random in 127.0.0.0/8 so parallel tests do not meet.
 *
 * @module
 */

/** Where Debian's sip-tester keeps the RTP pcaps its built-in scenarios play. */
export const SIPP_MEDIA = "/usr/share/sip-tester";

/** Whether a program is on the PATH. */
export async function hasProgram(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** Two loopback addresses for one test: the caller's and the callee's. */
export function loopbackPair(): { uac: string; uas: string } {
  const b = 10 + Math.floor(Math.random() * 200);
  const c = 10 + Math.floor(Math.random() * 200);
  return { uac: `127.${b}.${c}.10`, uas: `127.${b}.${c}.20` };
}

/**
 * Runs a sipp UAS and a UAC placing calls with RTP, and waits for the UAC to finish.
 *
 * @param options Addresses, number of calls and call rate per second.
 * @returns The UAC's exit code.
 */
export async function placeCalls(
  options: { uac: string; uas: string; calls: number; rate?: number },
): Promise<number> {
  const common = ["-m", String(options.calls), "-nostdin", "-timeout", "60s"];
  const uas = new Deno.Command("sipp", {
    args: ["-sn", "uas", "-i", options.uas, "-p", "5060", ...common],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 300));
  // uac_pcap plays pcap/g711a.pcap relative to its working directory; Debian keeps it here.
  const cwd = await Deno.makeTempDir();
  await Deno.symlink(SIPP_MEDIA, `${cwd}/pcap`);
  const uac = new Deno.Command("sipp", {
    cwd,
    args: [
      "-sn",
      "uac_pcap",
      `${options.uas}:5060`,
      "-i",
      options.uac,
      "-p",
      "5060",
      "-mi",
      options.uac,
      "-r",
      String(options.rate ?? 2),
      "-l",
      String(Math.max(1, options.calls)),
      ...common,
      "-timeout_error",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = await uac.status;
  await Deno.remove(cwd, { recursive: true });
  try {
    uas.kill("SIGTERM");
  } catch {
    // already gone
  }
  await uas.status;
  return status.code;
}
