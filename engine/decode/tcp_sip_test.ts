import assert from "node:assert/strict";
import { buildTcpFrame, TCP_ACK, TCP_PSH, TCP_SYN } from "../../tools/synth/packet_builder.ts";
import { Frame } from "../capture/frame.ts";
import { PacketDecoder } from "./decoder.ts";
import { TcpSipTracker } from "./tcp_sip.ts";

const TEXT = new TextEncoder();

function sip(method: string, body = ""): string {
  return `${method} sip:1428@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK${method}\r\n` +
    `Call-ID: abc@10.0.0.1\r\nCSeq: 1 ${method}\r\nContent-Length: ${
      TEXT.encode(body).length
    }\r\n\r\n${body}`;
}

function harness() {
  const messages: string[] = [];
  const anomalies: string[] = [];
  const tracker = new TcpSipTracker({
    onMessage: (b, s, e, transport) =>
      messages.push(`${transport}:${new TextDecoder().decode(b.subarray(s, e))}`),
    onAnomaly: (reason) => anomalies.push(reason),
  });
  const decoder = new PacketDecoder({ onPacket: (p) => tracker.push(p), onAnomaly: () => {} });
  const frame = new Frame();
  frame.linkType = 1;
  const send = (
    seq: number,
    payload: string | Uint8Array,
    flags = TCP_ACK | TCP_PSH,
    reverse = false,
  ) => {
    const a = { ip: "10.0.0.1", port: 40000 };
    const b = { ip: "10.0.0.2", port: 5060 };
    const data = buildTcpFrame({
      src: reverse ? b : a,
      dst: reverse ? a : b,
      seq,
      flags,
      payload: typeof payload === "string" ? TEXT.encode(payload) : payload,
    });
    frame.bytes = data;
    frame.end = data.length;
    decoder.decode(frame);
  };
  return { messages, anomalies, send };
}

Deno.test("tcp sip: several messages in one segment, framed by Content-Length", () => {
  const { messages, send } = harness();
  const two = sip("INVITE", "v=0\r\n") + sip("ACK");
  send(999, "", TCP_SYN);
  send(1000, two);
  assert.equal(messages.length, 2);
  assert.ok(messages[0]!.startsWith("tcp:INVITE") && messages[0]!.endsWith("v=0\r\n"));
  assert.ok(messages[1]!.startsWith("tcp:ACK"));
});

Deno.test("tcp sip: one message over several segments, out of order, with a retransmission", () => {
  const { messages, send } = harness();
  const whole = sip("INVITE", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n");
  const cuts = [0, 30, 77, whole.length];
  const piece = (i: number) => whole.slice(cuts[i]!, cuts[i + 1]!);
  send(0, piece(0));
  send(77, piece(2));
  send(0, piece(0)); // retransmitted
  assert.equal(messages.length, 0);
  send(30, piece(1));
  assert.deepEqual(messages, [`tcp:${whole}`]);
});

Deno.test("tcp sip: CRLF keep-alives between messages are skipped", () => {
  const { messages, send } = harness();
  send(0, "\r\n\r\n" + sip("OPTIONS") + "\r\n\r\n" + sip("BYE"));
  assert.deepEqual(messages.map((m) => m.slice(0, 7)), ["tcp:OPT", "tcp:BYE"]);
});

Deno.test("tcp sip: a non-SIP stream (TLS) is ignored without anomalies", () => {
  const { messages, anomalies, send } = harness();
  const tls = Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, ...new Array(500).fill(7)]);
  for (let i = 0; i < 200; i++) send(i * 505, tls);
  assert.deepEqual(messages, []);
  assert.deepEqual(anomalies, []);
});

Deno.test("tcp sip: a capture that starts mid-message resynchronizes at the next start line", () => {
  const { messages, anomalies, send } = harness();
  const tail = sip("INVITE").slice(40);
  send(5000, tail + sip("BYE"));
  assert.equal(messages.length, 1);
  assert.ok(messages[0]!.startsWith("tcp:BYE"));
  assert.deepEqual(anomalies, ["tcp.sip-resync"]);
});

Deno.test("tcp sip: SIP over WebSocket after an HTTP upgrade, masked and unmasked frames", () => {
  const { messages, send } = harness();
  const upgrade = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Protocol: sip\r\n\r\n";
  const switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  send(0, upgrade);
  send(0, switching, TCP_ACK, true);
  const message = TEXT.encode(sip("REGISTER"));
  const mask = [1, 2, 3, 4];
  const masked = message.map((b, i) => b ^ mask[i & 3]!);
  const frame = Uint8Array.from([
    0x81,
    0x80 | 126,
    message.length >> 8,
    message.length & 255,
    ...mask,
    ...masked,
  ]);
  send(upgrade.length, frame);
  const reply = TEXT.encode(sip("OPTIONS"));
  send(
    switching.length,
    Uint8Array.from([0x81, 126, reply.length >> 8, reply.length & 255, ...reply]),
    TCP_ACK,
    true,
  );
  assert.deepEqual(messages.map((m) => m.slice(0, 11)), ["ws:REGISTER", "ws:OPTIONS "]);
});
