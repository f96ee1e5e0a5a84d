import assert from "node:assert/strict";
import { parseSipMessage } from "./parse.ts";
import { MAX_SDP_LENGTH, parseSdp, sdpFromMessage } from "./sdp.ts";
import type { SipMessage } from "./types.ts";

const encoder = new TextEncoder();

function sdp(lines: string[]): string {
  return lines.join("\r\n") + "\r\n";
}

function testdataMessage(name: string): SipMessage {
  const result = parseSipMessage(Deno.readFileSync(new URL(`./testdata/${name}`, import.meta.url)));
  if (!result.ok) throw new Error(result.reason);
  return result.message;
}

// The walkthrough seed: DVI4 at 8 and 16 kHz with telephone-event 101.
const DVI4_OFFER = sdp([
  "v=0",
  "o=user1 53655765 2353687637 IN IP4 10.0.2.15",
  "s=-",
  "c=IN IP4 10.0.2.15",
  "t=0 0",
  "m=audio 6000 RTP/AVP 5 6 101",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=ptime:20",
]);

Deno.test("static payload types filled in without rtpmap", () => {
  const s = parseSdp(DVI4_OFFER);
  assert.ok(s !== null);
  assert.deepEqual(s.origin, {
    username: "user1",
    sessionId: "53655765",
    sessionVersion: "2353687637",
    address: "10.0.2.15",
  });
  assert.equal(s.connectionAddress, "10.0.2.15");
  const m = s.media[0];
  assert.ok(m !== undefined);
  assert.equal(m.type, "audio");
  assert.equal(m.port, 6000);
  assert.equal(m.portCount, 1);
  assert.equal(m.protocol, "RTP/AVP");
  assert.deepEqual(m.formats, ["5", "6", "101"]);
  assert.deepEqual(m.payloads, [
    { payloadType: 5, encodingName: "DVI4", clockRate: 8000, channels: 1, fmtp: null },
    { payloadType: 6, encodingName: "DVI4", clockRate: 16000, channels: 1, fmtp: null },
    {
      payloadType: 101,
      encodingName: "telephone-event",
      clockRate: 8000,
      channels: 1,
      fmtp: "0-15",
    },
  ]);
  assert.equal(m.telephoneEventPayloadType, 101);
  assert.equal(m.ptime, 20);
  assert.equal(m.direction, "sendrecv");
  assert.equal(m.onHold, false);
  assert.equal(m.rtcpPort, 6001);
  assert.equal(m.rtcpMux, false);
});

Deno.test("the RFC 3551 table: G722 clock 8000, L16 44100, G729, CN, GSM, G723", () => {
  const s = parseSdp(sdp(["v=0", "m=audio 4000 RTP/AVP 9 10 11 18 13 3 4 0 8 34 77"]));
  const byType = new Map(s?.media[0]?.payloads.map((p) => [p.payloadType, p]));
  assert.equal(byType.get(9)?.encodingName, "G722");
  assert.equal(byType.get(9)?.clockRate, 8000);
  assert.deepEqual([byType.get(10)?.clockRate, byType.get(10)?.channels], [44100, 2]);
  assert.deepEqual([byType.get(11)?.clockRate, byType.get(11)?.channels], [44100, 1]);
  assert.equal(byType.get(18)?.encodingName, "G729");
  assert.equal(byType.get(13)?.encodingName, "CN");
  assert.equal(byType.get(3)?.encodingName, "GSM");
  assert.equal(byType.get(4)?.encodingName, "G723");
  assert.equal(byType.get(34)?.clockRate, 90000);
  assert.deepEqual(byType.get(77), {
    payloadType: 77,
    encodingName: null,
    clockRate: null,
    channels: 1,
    fmtp: null,
  });
  assert.equal(s?.media[0]?.telephoneEventPayloadType, null);
});

Deno.test("rtpmap overrides the static table; channels from the encoding parameter", () => {
  const s = parseSdp(sdp([
    "v=0",
    "m=audio 4000 RTP/AVP 0 111",
    "a=rtpmap:0 pcmu/8000",
    "a=rtpmap:111 opus/48000/2",
    "a=fmtp:111 minptime=10; useinbandfec=1",
  ]));
  assert.equal(s?.media[0]?.payloads[0]?.encodingName, "pcmu");
  assert.deepEqual(s?.media[0]?.payloads[1], {
    payloadType: 111,
    encodingName: "opus",
    clockRate: 48000,
    channels: 2,
    fmtp: "minptime=10; useinbandfec=1",
  });
});

Deno.test("direction: media level overrides session level; hold detection", () => {
  const sessionSendonly = parseSdp(sdp([
    "v=0",
    "c=IN IP4 192.168.0.55",
    "a=sendonly",
    "m=audio 4000 RTP/AVP 0",
    "m=audio 4002 RTP/AVP 0",
    "a=recvonly",
  ]));
  assert.equal(sessionSendonly?.direction, "sendonly");
  assert.deepEqual(sessionSendonly?.media.map((m) => [m.direction, m.onHold]), [
    ["sendonly", true],
    ["recvonly", false],
  ]);
  const inactive = parseSdp(
    sdp(["v=0", "c=IN IP4 1.2.3.4", "m=audio 4000 RTP/AVP 0", "a=inactive"]),
  );
  assert.equal(inactive?.media[0]?.onHold, true);
  // Old-style hold (RFC 2543): connection address 0.0.0.0.
  const zero = parseSdp(
    sdp(["v=0", "c=IN IP4 1.2.3.4", "m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0"]),
  );
  assert.equal(zero?.media[0]?.connectionAddress, "0.0.0.0");
  assert.equal(zero?.media[0]?.direction, "sendrecv");
  assert.equal(zero?.media[0]?.onHold, true);
  const v6 = parseSdp(sdp(["v=0", "c=IN IP6 ::", "m=audio 4000 RTP/AVP 0"]));
  assert.equal(v6?.media[0]?.onHold, true);
});

Deno.test("rtcp port: a=rtcp, rtcp-mux, port + 1, none for port 0", () => {
  const s = parseSdp(sdp([
    "v=0",
    "c=IN IP4 224.2.1.1/127",
    "m=audio 49170 RTP/AVP 0",
    "a=rtcp:53020 IN IP4 126.16.64.4",
    "m=audio 49172 RTP/SAVPF 0",
    "a=rtcp-mux",
    "m=video 0 RTP/AVP 31",
    "m=audio 49180/2 RTP/AVP 0",
  ]));
  assert.equal(s?.connectionAddress, "224.2.1.1");
  assert.deepEqual(s?.media.map((m) => [m.port, m.portCount, m.rtcpPort, m.rtcpMux]), [
    [49170, 1, 53020, false],
    [49172, 1, 49172, true],
    [0, 1, null, false],
    [49180, 2, 49181, false],
  ]);
});

Deno.test("T.38 image media has formats but no payload types", () => {
  const s = parseSdp(
    sdp(["v=0", "c=IN IP4 10.23.1.52", "m=image 16756 udptl t38", "a=T38FaxVersion:0"]),
  );
  assert.equal(s?.media[0]?.type, "image");
  assert.equal(s?.media[0]?.protocol, "udptl");
  assert.deepEqual(s?.media[0]?.formats, ["t38"]);
  assert.deepEqual(s?.media[0]?.payloads, []);
});

Deno.test("garbage gives null or a partial summary, never a throw", () => {
  assert.equal(parseSdp(""), null);
  assert.equal(parseSdp("good"), null);
  assert.equal(parseSdp("hello\r\nworld"), null);
  const filler = "a=x\r\n".repeat(MAX_SDP_LENGTH / 5);
  assert.equal(parseSdp("v=0\r\n" + filler), null); // over the size cap
  assert.notEqual(parseSdp("v=0\r\n" + filler.slice(10)), null);
  const partial = parseSdp(
    "v=0\r\no=broken\r\nm=audio notaport RTP/AVP 0\r\nm=audio 5004 RTP/AVP 8\r\n",
  );
  assert.equal(partial?.origin, null);
  assert.deepEqual(partial?.media.map((m) => m.port), [5004]);
  // A huge session id stays exact; a non-numeric one is read field by field.
  const big = parseSdp("v=0\r\no=- 18446744073709551615 1 IN IP4 1.2.3.4\r\n");
  assert.equal(big?.origin?.sessionId, "18446744073709551615");
  const odd = parseSdp("v=0\r\no=- 24%s 418 IN IP4 192.168.1.2\r\n");
  assert.equal(odd?.origin?.sessionId, "24%s");
  let seed = 7;
  for (let round = 0; round < 300; round++) {
    let text = "v=0\r\n";
    for (let i = 0; i < 20; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const pick =
        ["m=audio ", "a=rtpmap:", "a=fmtp:", "c=IN IP4 ", "a=rtcp:", "a=ptime:", "o="][seed % 7];
      text += pick + String.fromCharCode(32 + (seed >>> 8) % 90).repeat((seed >>> 16) % 5) +
        (seed % 1000) + "\r\n";
    }
    parseSdp(text); // must not throw
  }
});

Deno.test("sdpFromMessage: plain body, multipart part, no SDP", () => {
  const hold = sdpFromMessage(testdataMessage("hold_reinvite.sip"));
  assert.equal(hold?.media[0]?.direction, "sendonly");
  assert.equal(hold?.media[0]?.onHold, true);
  assert.equal(hold?.media[0]?.connectionAddress, "192.168.1.53");
  assert.equal(hold?.origin?.sessionVersion, "1526006381");

  const multipart = sdpFromMessage(testdataMessage("sctp_multipart_invite.sip"));
  assert.equal(multipart?.media[0]?.port, 38060);
  assert.equal(multipart?.media[0]?.telephoneEventPayloadType, 96);
  assert.deepEqual(multipart?.media[0]?.payloads.map((p) => p.encodingName), [
    "PCMA",
    "CN",
    "telephone-event",
  ]);

  assert.equal(sdpFromMessage(testdataMessage("notify_bare_addr_spec.sip")), null); // XML body
  assert.equal(sdpFromMessage(testdataMessage("user_defined_method.sip")), null); // "good"
  assert.equal(sdpFromMessage(testdataMessage("proxy_auth_407.sip")), null); // no body
});

Deno.test("sdpFromMessage: nested multipart and a body without Content-Type", () => {
  const inner =
    "--in\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio 7000 RTP/AVP 0\r\n\r\n--in--";
  const body =
    `--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n${inner}\r\n--out--\r\n`;
  const nested = parseSipMessage(encoder.encode(
    `INVITE sip:a@b SIP/2.0\r\nContent-Type: multipart/mixed;boundary=out\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  ));
  assert.ok(nested.ok);
  assert.equal(sdpFromMessage(nested.message)?.media[0]?.port, 7000);

  const bare = parseSipMessage(
    encoder.encode("INVITE sip:a@b SIP/2.0\r\n\r\nv=0\r\nm=audio 7002 RTP/AVP 8\r\n"),
  );
  assert.ok(bare.ok);
  assert.equal(sdpFromMessage(bare.message)?.media[0]?.port, 7002);
});

Deno.test("many formats and rtpmaps stay linear", () => {
  const n = 10000;
  const formats = Array.from({ length: n }, (_, i) => String(i % 128)).join(" ");
  const text = `v=0\r\nm=audio 4000 RTP/AVP ${formats}\r\n` + "a=rtpmap:5 x/8000\r\n".repeat(n);
  assert.ok(text.length < MAX_SDP_LENGTH);
  const start = performance.now();
  const s = parseSdp(text);
  const elapsed = performance.now() - start;
  assert.equal(s?.media[0]?.payloads.length, 128); // each payload type once
  assert.equal(s?.media[0]?.payloads.find((p) => p.payloadType === 5)?.encodingName, "x");
  assert.ok(elapsed < 1000, `${elapsed} ms`);
});

Deno.test("lines end at CR LF, CR or LF; only well-formed v= and m= lines count", () => {
  // What the summary must find, read the plain way: split the lines, match each one.
  const expected = (text: string) => {
    const media: string[] = [];
    let version = false;
    for (const line of text.split(/\r\n|\r|\n/)) {
      const m = /^([a-z])=(.*)$/.exec(line);
      if (m === null) continue;
      if (m[1] === "m") media.push(m[2]!.trim().split(/[ \t]+/)[1]!);
      else if (m[1] === "v") version = true;
    }
    return { media, version };
  };
  const random = (() => {
    let x = 12345;
    return () => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  })();
  const ends = ["\r\n", "\n", "\r", "\n\r", "\r\r\n"];
  const pieces = [
    "v=0",
    "o=- 1 2 IN IP4 10.0.0.9",
    "o=- 1 2 IN IP4 10.0.\u20280.8",
    "s=-",
    "c=IN IP4 10.0.0.1",
    "t=0 0",
    "m=audio 4000 RTP/AVP 0",
    "m=audio 4002\u2029 RTP/AVP 8",
    "M=audio 4004 RTP/AVP 0",
    "m=video 5000 RTP/AVP 96",
    " m=audio 4006 RTP/AVP 0",
    "a=sendonly",
    "",
    "m=",
    "x",
  ];
  for (let n = 0; n < 500; n++) {
    let text = "";
    const count = 1 + Math.floor(random() * 12);
    for (let i = 0; i < count; i++) {
      text += pieces[Math.floor(random() * pieces.length)]!;
      if (i < count - 1 || random() < 0.5) text += ends[Math.floor(random() * ends.length)]!;
    }
    const want = expected(text);
    const got = parseSdp(text);
    if (!want.version && want.media.length === 0) {
      assert.equal(got, null, JSON.stringify(text));
      continue;
    }
    assert.deepEqual(
      got?.media.map((m) => String(m.port)),
      want.media.filter((p) => /^\d+$/.test(p)),
      JSON.stringify(text),
    );
  }
});
