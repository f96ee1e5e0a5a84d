/**
 * Regenerates the SIP test messages in this directory from the public
 * captures in `../shared/captures` with tshark: each `.sip` file holds the
 * bytes of one SIP message exactly as tshark dissected it (`sip_raw`), each
 * `.bin` file one direction of a TCP stream (`follow,tcp,raw`).
 *
 * Run from the repository root: `deno run -A engine/sip/testdata/extract.ts`
 *
 * @module
 */

const CAPTURES = new URL("../../../../shared/captures/", import.meta.url);
const HERE = new URL("./", import.meta.url);

/** One SIP message to extract: capture file and frame number. */
interface MessageSpec {
  file: string;
  capture: string;
  frame: number;
}

/** One direction of a TCP stream to extract. */
interface StreamSpec {
  file: string;
  capture: string;
  stream: number;
  /** 0: the node that sent the first segment; 1: the other one. */
  node: 0 | 1;
}

const MESSAGES: MessageSpec[] = [
  { file: "compact_form_invite.sip", capture: "suricata__sip_compact_form.pcap", frame: 1 },
  { file: "sctp_multipart_invite.sip", capture: "heplify__sip_sctp.pcap", frame: 2 },
  { file: "refer_replaces.sip", capture: "heplify__erspan_sip_ipv4_udp.pcapng", frame: 111 },
  { file: "notify_bare_addr_spec.sip", capture: "heplify__erspan_sip_ipv4_udp.pcapng", frame: 5 },
  { file: "hold_reinvite.sip", capture: "heplify__erspan_sip_ipv4_udp.pcapng", frame: 99 },
  { file: "proxy_auth_407.sip", capture: "heplify__erspan_sip_ipv4_udp.pcapng", frame: 57 },
  {
    file: "bad_content_length_request.sip",
    capture: "zeek__invalid-content-length.pcap",
    frame: 1,
  },
  {
    file: "bad_content_length_response.sip",
    capture: "zeek__invalid-content-length.pcap",
    frame: 2,
  },
  { file: "user_defined_method.sip", capture: "snort3demo__user_defined_method.pcap", frame: 1 },
  {
    file: "long_via_options.sip",
    capture: "zeek__sip-long-request-response-paths.pcap",
    frame: 1,
  },
  { file: "ipv6_unbracketed_invite.sip", capture: "heplify__sip_ipv6.pcap", frame: 1 },
  { file: "register_no_empty_line.sip", capture: "snort3demo__digium.pcap", frame: 1 },
  { file: "fuzzed_start_line.sip", capture: "ndpi__fuzz-2006-06-26-2594.pcap", frame: 247 },
];

const STREAMS: StreamSpec[] = [
  {
    file: "tcp_fragmented_client.bin",
    capture: "pkts__fragmented_tcp_sip.pcap",
    stream: 0,
    node: 0,
  },
  { file: "tcp_server.bin", capture: "heplify__sip_ipv4_tcp.pcap", stream: 0, node: 1 },
];

function tshark(args: string[]): string {
  const out = new Deno.Command("tshark", { args, stdout: "piped", stderr: "null" }).outputSync();
  if (!out.success) throw new Error(`tshark failed: ${args.join(" ")}`);
  return new TextDecoder().decode(out.stdout);
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Every `sip_raw` hex string under a tshark JSON node. */
function sipRaw(node: unknown, out: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) sipRaw(item, out);
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "sip_raw" && Array.isArray(value) && typeof value[0] === "string") {
        out.push(value[0]);
      } else sipRaw(value, out);
    }
  }
}

for (const spec of MESSAGES) {
  const json = tshark([
    "-r",
    new URL(spec.capture, CAPTURES).pathname,
    "-Y",
    `sip && frame.number == ${spec.frame}`,
    "-T",
    "json",
    "-x",
    "--no-duplicate-keys",
  ]);
  const found: string[] = [];
  sipRaw(JSON.parse(json), found);
  const hex = found[0];
  if (hex === undefined) throw new Error(`No SIP in ${spec.capture} frame ${spec.frame}`);
  Deno.writeFileSync(new URL(spec.file, HERE), fromHex(hex));
  console.log(spec.file);
}

for (const spec of STREAMS) {
  const text = tshark([
    "-r",
    new URL(spec.capture, CAPTURES).pathname,
    "-q",
    "-z",
    `follow,tcp,raw,${spec.stream}`,
  ]);
  const lines = text.split("\n").filter((line) => /^\t?[0-9a-f]+$/.test(line));
  const hex = lines.filter((line) => (line.startsWith("\t") ? 1 : 0) === spec.node)
    .map((line) => line.trim()).join("");
  Deno.writeFileSync(new URL(spec.file, HERE), fromHex(hex));
  console.log(spec.file);
}
