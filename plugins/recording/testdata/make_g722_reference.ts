/**
 * Regenerates g722_reference.json with ffmpeg (its G.722 codec states that
 * it is a bit-exact implementation of ITU-T G.722 and passes the ITU tests):
 *
 * - the G.722 stream of ../shared/captures/sipnab__codec-negotiation.pcap,
 *   decoded by ffmpeg to s16le: SHA-256 of the result;
 * - the synthetic signal of codecs/testing_g722.ts, encoded by ffmpeg to
 *   G.722 and decoded again: SHA-256 of both.
 *
 * The tests check that our decoder and encoder reproduce these digests, so
 * they run without ffmpeg. Run from the repository root:
 * `deno run -A plugins/recording/testdata/make_g722_reference.ts`
 *
 * @module
 */

import { rtpPayloads } from "../codecs/testing_rtp.ts";
import {
  G722_REFERENCE_FILE,
  G722_STREAM,
  type G722Reference,
  littleEndianBytes,
  sha256Hex,
  SYNTHETIC_SAMPLES,
  syntheticSignal,
} from "../codecs/testing_g722.ts";

function ffmpeg(args: string[]): void {
  const result = new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", "-y", ...args],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
}

const dir = Deno.makeTempDirSync();
try {
  const version = new TextDecoder().decode(
    new Deno.Command("ffmpeg", { args: ["-version"], stdout: "piped" }).outputSync().stdout,
  ).split("\n")[0]!.split(" Copyright")[0]!;

  const packets = rtpPayloads(G722_STREAM.capture, G722_STREAM);
  const payload = new Uint8Array(packets.reduce((n, p) => n + p.payload.length, 0));
  let at = 0;
  for (const p of packets) {
    payload.set(p.payload, at);
    at += p.payload.length;
  }
  Deno.writeFileSync(`${dir}/capture.g722`, payload);
  ffmpeg(["-f", "g722", "-i", `${dir}/capture.g722`, "-f", "s16le", `${dir}/capture.s16`]);
  const captureDecoded = Deno.readFileSync(`${dir}/capture.s16`);

  Deno.writeFileSync(`${dir}/synthetic.s16`, littleEndianBytes(syntheticSignal(SYNTHETIC_SAMPLES)));
  ffmpeg([
    ...["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", `${dir}/synthetic.s16`],
    ...["-c:a", "g722", "-f", "g722", `${dir}/synthetic.g722`],
  ]);
  ffmpeg(["-f", "g722", "-i", `${dir}/synthetic.g722`, "-f", "s16le", `${dir}/synthetic.out.s16`]);
  const encoded = Deno.readFileSync(`${dir}/synthetic.g722`);
  const decoded = Deno.readFileSync(`${dir}/synthetic.out.s16`);

  const reference: G722Reference = {
    tool: version,
    capture: {
      packets: packets.length,
      samples: captureDecoded.length / 2,
      decodedSha256: await sha256Hex(captureDecoded),
    },
    synthetic: {
      samples: SYNTHETIC_SAMPLES,
      encodedSha256: await sha256Hex(encoded),
      decodedSha256: await sha256Hex(decoded),
    },
  };
  Deno.writeTextFileSync(G722_REFERENCE_FILE, JSON.stringify(reference, null, 2) + "\n");
  console.log(reference);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
