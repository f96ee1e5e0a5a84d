import assert from "node:assert/strict";
import { MAX_STREAM_HEADER_BYTES, sipMessageLength, skipKeepAlive } from "./framing.ts";
import { parseSipMessage } from "./parse.ts";

const encoder = new TextEncoder();

function testdata(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`./testdata/${name}`, import.meta.url));
}

/** Splits a whole stream into messages with sipMessageLength. */
function frames(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < stream.length) {
    const n = sipMessageLength(stream, offset, stream.length - offset);
    if (n <= 0) break;
    out.push(stream.subarray(offset, offset + n));
    offset += n;
  }
  return out;
}

Deno.test("Content-Length and compact l: frame the body", () => {
  const a = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";
  const b = "INFO sip:a@b SIP/2.0\r\nL :3\r\n\r\nabc";
  const c = "SIP/2.0 200 OK\r\ncontent-length:   0  \r\n\r\n";
  const stream = encoder.encode(a + b + c);
  assert.deepEqual(frames(stream).map((f) => f.length), [a.length, b.length, c.length]);
});

Deno.test("missing Content-Length on a stream means no body", () => {
  const a = "ACK sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n";
  const stream = encoder.encode(a + "BYE sip:a@b SIP/2.0\r\n\r\n");
  assert.equal(sipMessageLength(stream, 0, stream.length), a.length);
});

Deno.test("0 while incomplete, at every cut of a message", () => {
  const text = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nl: 10\r\n\r\n0123456789";
  const bytes = encoder.encode(text);
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.equal(sipMessageLength(bytes, 0, cut), 0, `cut at ${cut}`);
  }
  assert.equal(sipMessageLength(bytes, 0, bytes.length), bytes.length);
});

Deno.test("keep-alives are skipped and counted in the length", () => {
  const msg = "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n";
  const stream = encoder.encode("\r\n\r\n" + msg);
  assert.equal(skipKeepAlive(stream, 0, stream.length), 4);
  assert.equal(sipMessageLength(stream, 0, stream.length), 4 + msg.length);
  assert.equal(sipMessageLength(stream, 4, stream.length - 4), msg.length);
  const ping = encoder.encode("\r\n\r\n");
  assert.equal(sipMessageLength(ping, 0, ping.length), 0);
  assert.equal(skipKeepAlive(ping, 0, ping.length), 4);
  const parsed = parseSipMessage(stream.subarray(0, 4 + msg.length), { framing: "stream" });
  assert.ok(parsed.ok && parsed.message.kind === "request" && parsed.message.method === "OPTIONS");
});

Deno.test("-1 for bytes that cannot be SIP", () => {
  for (
    const text of [
      "\x16\x03\x01\x02\x00", // TLS handshake
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "hello world\r\n",
      "INV(TE sip:a@b",
      `${"A".repeat(50)}`,
      "INVITE sip:a@b SIP/2.0\r\nl: 99999999999\r\n\r\n",
    ]
  ) {
    const bytes = encoder.encode(text);
    assert.equal(sipMessageLength(bytes, 0, bytes.length), -1, JSON.stringify(text));
  }
  const huge = encoder.encode(
    "INVITE sip:a@b SIP/2.0\r\n" + "X: y\r\n".repeat(MAX_STREAM_HEADER_BYTES / 6 + 10),
  );
  assert.equal(sipMessageLength(huge, 0, huge.length), -1);
});

Deno.test("a bad Content-Length counts as 0", () => {
  const text = "SIP/2.0 200 OK\r\nContent-Length: xyz\r\n\r\n";
  const bytes = encoder.encode(text + "junk");
  assert.equal(sipMessageLength(bytes, 0, bytes.length), text.length);
});

Deno.test("real: INVITE over many TCP segments (pkts__fragmented_tcp_sip.pcap)", () => {
  const stream = testdata("tcp_fragmented_client.bin");
  const messages = frames(stream);
  const methods = messages.map((m) => {
    const r = parseSipMessage(m, { framing: "stream" });
    assert.ok(r.ok);
    assert.deepEqual(r.message.warnings, []);
    return r.message.kind === "request" ? r.message.method : String(r.message.status);
  });
  assert.deepEqual(methods, ["INVITE", "ACK", "BYE"]);
  assert.equal(messages[0]?.length, 5155);
  assert.equal(messages.reduce((sum, m) => sum + m.length, 0), stream.length);
  // Fed one byte at a time, the first message completes exactly at its last byte.
  for (let have = 1; have < 5155; have += 97) {
    assert.equal(sipMessageLength(stream, 0, have), 0);
  }
});

Deno.test("real: responses and BYE from a TCP server (heplify__sip_ipv4_tcp.pcap)", () => {
  const stream = testdata("tcp_server.bin");
  const messages = frames(stream);
  const firstLines = messages.map((m) => new TextDecoder().decode(m).split("\r\n")[0]);
  assert.deepEqual(
    firstLines.map((l) => l?.split(" ")[0] === "SIP/2.0" ? l.split(" ")[1] : l?.split(" ")[0]),
    [
      "100",
      "180",
      "200",
      "BYE",
    ],
  );
  assert.equal(messages.reduce((sum, m) => sum + m.length, 0), stream.length);
});
