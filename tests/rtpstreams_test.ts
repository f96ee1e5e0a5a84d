/**
 * RTP streams against Wireshark's `tshark -z rtp,streams` (heuristic on) for
 * every capture in ../shared/captures: same addresses, ports, SSRC and
 * payload, same packet and lost counts, jitter and delta within 0.1 ms or 1%.
 * Every stream we do not match is named here with the reason, and checked.
 */
import { Analyzer } from "../engine/analyzer.ts";
import { assertStreamsMatch, type StreamDifference } from "./support/compare.ts";
import { SHARED_CAPTURES, sharedCaptures } from "./support/shared_captures.ts";

/** Streams where we knowingly differ from tshark, by capture and stream key. */
const EXPLAINED: Record<string, Record<string, StreamDifference>> = {
  "heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap": {
    "10.35.60.100:15580>10.23.1.52:16756/0x0EAF0EAF": {
      packets: 3848,
      why: "frame 3100 offers T.38 (m=image udptl) and is rejected with 488 (frames 3112-3116); " +
        "tshark applies the offer anyway and decodes the next 2010 G.711 packets of this stream " +
        "(version 2, PT 8, the same SSRC) as T.38; we follow offer/answer and count all 3848",
    },
  },
  "ndpi__fuzz-2006-06-26-2594.pcap": Object.fromEntries(
    [
      "81.168.1.2:30000>212.242.33.36:40392/0x3796CB71",
      "192.168.1.2:30000>214.242.33.36:40392/0x3796CB71",
      "192.168.1.2:30000>212.242.33.36:40392/0xAAAAAAAA",
      "192.168.1.2:30000>212.242.33.36:40392/0x37968BAA",
      "192.168.1.2:30000>212.242.33.36:40392/0x3796CB71",
      "192.168.1.2:30000>37.115.0.36:40392/0x3796CB71",
      "192.168.1.3:30000>212.242.33.36:40392/0x3796CB71",
    ].map((key) => [key, {
      absent: true as const,
      why: "a fuzzed capture: 1-3 mangled packets each, on a flow no SDP announces and whose " +
        "sequence numbers and SSRCs jump; only tshark's liberal heuristic takes them as RTP",
    }]),
  ),
};

for (const capture of await sharedCaptures()) {
  Deno.test(`rtp,streams agrees with tshark: ${capture}`, async () => {
    const analyzer = new Analyzer();
    await analyzer.analyzeFile(`${SHARED_CAPTURES}/${capture}`);
    const reference = await Deno.readTextFile(`${SHARED_CAPTURES}/${capture}.rtpstreams.txt`);
    assertStreamsMatch(analyzer.report(), reference, EXPLAINED[capture]);
  });
}
