import assert from "node:assert/strict";
import { parseSipMessage } from "./parse.ts";
import type { SipMessage, SipRequest, SipResponse } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function testdata(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`./testdata/${name}`, import.meta.url));
}

/** Joins lines with CRLF and adds the empty line and the body. */
function sip(lines: string[], body = ""): Uint8Array {
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n" + body);
}

function parseOk(bytes: Uint8Array, framing?: "datagram" | "stream"): SipMessage {
  const result = parseSipMessage(bytes, { framing });
  if (!result.ok) throw new Error(`parse failed: ${result.reason}`);
  return result.message;
}

function request(bytes: Uint8Array): SipRequest {
  const message = parseOk(bytes);
  assert.equal(message.kind, "request");
  return message as SipRequest;
}

function response(bytes: Uint8Array): SipResponse {
  const message = parseOk(bytes);
  assert.equal(message.kind, "response");
  return message as SipResponse;
}

// Messages modelled on the Centrex site of the scenario report
// (../../../shared/seeds/scenario-analysis-report.ko.md).

const PICKUP_INVITE = sip([
  "INVITE sip:*8@112.222.225.104:5060 SIP/2.0",
  "Via: SIP/2.0/UDP 192.168.0.54:5060;branch=z9hG4bK-pickup-1;rport",
  "Max-Forwards: 70",
  'From: "1428" <sip:109Q1428@112.222.225.104:5060>;tag=p1428',
  "To: <sip:*8@112.222.225.104:5060>",
  "Call-ID: 7c1d2e3f@192.168.0.54",
  "CSeq: 2 INVITE",
  "Contact: <sip:109Q1428@192.168.0.54:5060>",
  "X-xfer-pressed: True",
  'Proxy-Authorization: Digest username="109Q1428", realm="centrex", nonce="5f3a,9b", uri="sip:*8@112.222.225.104:5060", response="8d1c", algorithm=MD5',
  "Content-Type: application/sdp",
  "Content-Length: 0",
]);

Deno.test("pickup INVITE to *8 with X-xfer-pressed and credentials", () => {
  const m = request(PICKUP_INVITE);
  assert.equal(m.method, "INVITE");
  assert.equal(m.requestUriRaw, "sip:*8@112.222.225.104:5060");
  assert.equal(m.requestUri?.user, "*8");
  assert.equal(m.to?.uri?.user, "*8");
  assert.equal(m.from?.uri?.user, "109Q1428");
  assert.equal(m.from?.tag, "p1428");
  assert.equal(m.to?.tag, null);
  assert.equal(m.headers.get("X-Xfer-Pressed"), "True");
  assert.match(m.headers.get("proxy-authorization") ?? "", /nonce="5f3a,9b", uri=/);
  assert.equal(m.headers.getAll("proxy-authorization").length, 1);
  assert.equal(m.callId, "7c1d2e3f@192.168.0.54");
  assert.deepEqual(m.cseq, { seq: 2, method: "INVITE" });
  assert.equal(m.vias[0]?.host, "192.168.0.54");
  assert.equal(m.vias[0]?.branch, "z9hG4bK-pickup-1");
  assert.equal(m.contacts[0]?.uri?.host, "192.168.0.54");
  assert.equal(m.contentType, "application/sdp");
  assert.equal(m.contentLength, 0);
  assert.equal(m.body.length, 0);
  assert.deepEqual(m.warnings, []);
  assert.equal(m.size, PICKUP_INVITE.length);
});

Deno.test('407 challenge to the conference INVITE from "07086661427,1427"', () => {
  const m = response(sip([
    "SIP/2.0 407 Proxy Authentication Required",
    "Via: SIP/2.0/UDP 192.168.0.55:5060;branch=z9hG4bK-conf-1;received=192.168.0.55;rport=5060",
    'From: "07086661427,1427" <sip:109Q1427@112.222.225.104:5060>;tag=c1427',
    "To: <sip:1428@112.222.225.104:5060>;tag=srv407",
    "Call-ID: e513679c03fd1e63f526dbef61d0f119@192.168.0.55",
    "CSeq: 1 INVITE",
    'Proxy-Authenticate: Digest realm="centrex", nonce="0a1b2c", algorithm=MD5, qop="auth"',
    "Content-Length: 0",
  ]));
  assert.equal(m.status, 407);
  assert.equal(m.reason, "Proxy Authentication Required");
  assert.equal(m.from?.displayName, "07086661427,1427");
  assert.equal(m.from?.uri?.user, "109Q1427");
  assert.equal(m.to?.tag, "srv407");
  assert.equal(m.vias[0]?.params.get("received"), "192.168.0.55");
  assert.deepEqual(m.headers.getAll("proxy-authenticate"), [
    'Digest realm="centrex", nonce="0a1b2c", algorithm=MD5, qop="auth"',
  ]);
  assert.deepEqual(m.warnings, []);
});

Deno.test("REFER with Refer-To/Referred-By and a NOTIFY with sipfrag, in compact form", () => {
  const refer = request(sip([
    "REFER sip:01077141436@112.222.225.104:5060 SIP/2.0",
    "v: SIP/2.0/UDP 192.168.0.55:5060;branch=z9hG4bK-refer",
    "f: <sip:109Q1427@112.222.225.104>;tag=a",
    "t: <sip:01077141436@112.222.225.104>;tag=b",
    "i: 3749d4615995b7dd49e372fb68e7e0175cf17532@112.222.225.77",
    "CSeq: 3 REFER",
    "r: <sip:1428@112.222.225.104>",
    'b: "1427" <sip:109Q1427@112.222.225.104>',
    "l: 0",
  ]));
  assert.equal(refer.method, "REFER");
  assert.equal(refer.callId, "3749d4615995b7dd49e372fb68e7e0175cf17532@112.222.225.77");
  assert.equal(refer.headers.get("Refer-To"), "<sip:1428@112.222.225.104>");
  assert.equal(refer.headers.get("referred-by"), '"1427" <sip:109Q1427@112.222.225.104>');
  assert.equal(refer.contentLength, 0);

  const frag = "SIP/2.0 200 OK\r\n";
  const notify = request(sip([
    "NOTIFY sip:109Q1427@192.168.0.55:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 112.222.225.104:5060;branch=z9hG4bK-notify",
    "From: <sip:01077141436@112.222.225.104>;tag=b",
    "To: <sip:109Q1427@112.222.225.104>;tag=a",
    "Call-ID: 3749d4615995b7dd49e372fb68e7e0175cf17532@112.222.225.77",
    "CSeq: 7 NOTIFY",
    "o: refer",
    "Subscription-State: terminated;reason=noresource",
    "c: message/sipfrag;version=2.0",
    `l: ${frag.length}`,
  ], frag));
  assert.equal(notify.headers.get("event"), "refer");
  assert.equal(notify.contentType, "message/sipfrag");
  assert.equal(decoder.decode(notify.body), frag);
  assert.deepEqual(notify.parts, []);
});

Deno.test("486 Busy Here and 487 Request Terminated", () => {
  const busy = response(encoder.encode(
    "SIP/2.0 486 Busy Here\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nVia: SIP/2.0/UDP h\r\nContent-Length: 0\r\n\r\n",
  ));
  assert.equal(busy.status, 486);
  assert.equal(busy.reason, "Busy Here");
  // Reason phrases are free text: snort3demo__user_defined_method.pcap sends "487 Busy Here".
  const terminated = response(encoder.encode("SIP/2.0 487 Busy Here\r\nCall-ID: y\r\n\r\n"));
  assert.equal(terminated.status, 487);
  assert.equal(terminated.reason, "Busy Here");
  assert.ok(terminated.warnings.includes("missing-from"));
});

Deno.test("REGISTER with Contact * and an odd-case method", () => {
  const m = request(sip([
    "REGIStER sip:112.222.225.104 SIP/2.0",
    "Via: SIP/2.0/UDP 192.168.0.54:5060;branch=z9hG4bK-r",
    "From: <sip:109Q1428@112.222.225.104>;tag=r1",
    "To: <sip:109Q1428@112.222.225.104>",
    "Call-ID: reg-1@192.168.0.54",
    "CSeq: 9 REGIStER",
    "Contact: *",
    "Expires: 0",
  ]));
  assert.equal(m.method, "REGIStER");
  assert.equal(m.contacts.length, 1);
  assert.equal(m.contacts[0]?.uri, null);
  assert.equal(m.contacts[0]?.rawUri, "*");
  assert.equal(m.requestUri?.user, null);
  assert.deepEqual(m.warnings, []);
});

Deno.test("leading CRLF keep-alives, LF-only lines and multiple Contact/Via values", () => {
  const bytes = encoder.encode(
    '\r\n\r\nOPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP p1;branch=1, SIP/2.0/TCP p2:5070;branch=2\nVia: SIP/2.0/UDP p3\nm: <sip:x@y>, "A, B" <sip:z@w>;expires=5\ni: k\nf: <sip:a@b>;tag=t\nt: <sip:a@b>\nCSeq: 1 OPTIONS\n\n',
  );
  const m = request(bytes);
  assert.deepEqual(m.vias.map((v) => v.host), ["p1", "p2", "p3"]);
  assert.equal(m.vias[1]?.port, 5070);
  assert.equal(m.vias[1]?.transport, "TCP");
  assert.deepEqual(m.contacts.map((c) => c.displayName), [null, "A, B"]);
  assert.equal(m.contacts[1]?.params.get("expires"), "5");
  assert.equal(m.size, bytes.length - 4);
  assert.deepEqual(m.warnings, []);
});

Deno.test("unknown methods are valid requests", () => {
  for (const method of ["FOOBAR", "INVITE1", "X-CUSTOM.v2"]) {
    const m = request(encoder.encode(`${method} sip:a@b SIP/2.0\r\nCSeq: 1 ${method}\r\n\r\n`));
    assert.equal(m.method, method);
  }
});

Deno.test("start-line failures", () => {
  const cases: [string, string][] = [
    ["", "sip.empty"],
    ["\r\n\r\n", "sip.empty"],
    ["HTTP/1.1 200 OK\r\n\r\n", "sip.bad-start-line"],
    ["INVITE sip:a@b SIP/3.0\r\n\r\n", "sip.bad-start-line"],
    ["INVITE sip:a@b\r\n\r\n", "sip.bad-start-line"],
    ["INV(TE sip:a@b SIP/2.0\r\n\r\n", "sip.bad-start-line"],
    [`${"A".repeat(40)} sip:a@b SIP/2.0\r\n\r\n`, "sip.bad-start-line"],
    ["SIP/2.0 20 OK\r\n\r\n", "sip.bad-start-line"],
    ["SIP/2.0 2000 OK\r\n\r\n", "sip.bad-start-line"],
    ["SIP/2.0 099 Odd\r\n\r\n", "sip.bad-status-code"],
    ["SIP/2.0 700 Odd\r\n\r\n", "sip.bad-status-code"],
  ];
  for (const [text, reason] of cases) {
    assert.deepEqual(parseSipMessage(encoder.encode(text)), { ok: false, reason }, text);
  }
  assert.equal(response(encoder.encode("SIP/2.0 200\r\n\r\n")).reason, "");
  assert.equal(request(encoder.encode("invite sip:a@b sip/2.0\r\n\r\n")).method, "invite");
});

Deno.test("datagram body framing by Content-Length", () => {
  const head = "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: c\r\n";
  const exact = parseOk(encoder.encode(`${head}Content-Length: 5\r\n\r\nhello`));
  assert.equal(decoder.decode(exact.body), "hello");
  assert.deepEqual(exact.warnings.filter((w) => w.startsWith("content-length")), []);

  const shorter = parseOk(encoder.encode(`${head}Content-Length: 3\r\n\r\nhello`));
  assert.equal(decoder.decode(shorter.body), "hel");
  assert.ok(shorter.warnings.includes("content-length-shorter-than-data"));
  assert.equal(shorter.size, head.length + 21 + 3);

  const padded = parseOk(encoder.encode(`${head}Content-Length: 5\r\n\r\nhello\r\n`));
  assert.ok(!padded.warnings.includes("content-length-shorter-than-data"));

  const longer = parseOk(encoder.encode(`${head}Content-Length: 50\r\n\r\nhello`));
  assert.equal(decoder.decode(longer.body), "hello");
  assert.equal(longer.contentLength, 50);
  assert.ok(longer.warnings.includes("content-length-exceeds-data"));

  const missing = parseOk(encoder.encode(`${head}\r\nhello`));
  assert.equal(decoder.decode(missing.body), "hello");
  assert.equal(missing.contentLength, null);
  assert.ok(!missing.warnings.includes("missing-content-length"));
});

Deno.test("stream body framing: the rest belongs to the next message", () => {
  const first = "MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhi";
  const m = parseOk(encoder.encode(first + "ACK sip:a@b SIP/2.0\r\n\r\n"), "stream");
  assert.equal(decoder.decode(m.body), "hi");
  assert.equal(m.size, first.length);
  assert.ok(!m.warnings.includes("content-length-shorter-than-data"));

  const noLength = parseOk(
    encoder.encode("BYE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nJUNK"),
    "stream",
  );
  assert.equal(noLength.body.length, 0);
  assert.ok(noLength.warnings.includes("missing-content-length"));

  assert.deepEqual(
    parseSipMessage(encoder.encode("BYE sip:a@b SIP/2.0\r\nCall-ID: x\r\n"), { framing: "stream" }),
    { ok: false, reason: "sip.no-header-end" },
  );
});

Deno.test("the body is a copy that outlives the caller's buffer", () => {
  const bytes = encoder.encode("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello");
  const m = parseOk(bytes);
  bytes.fill(0);
  assert.equal(decoder.decode(m.body), "hello");
});

Deno.test("missing mandatory headers are warnings, not failures", () => {
  const m = request(encoder.encode("BYE sip:a@b SIP/2.0\r\n\r\n"));
  assert.equal(m.callId, "");
  assert.equal(m.from, null);
  assert.equal(m.to, null);
  assert.equal(m.cseq, null);
  assert.deepEqual(m.vias, []);
  assert.deepEqual(m.warnings, [
    "missing-call-id",
    "missing-from",
    "missing-to",
    "missing-cseq",
    "missing-via",
  ]);
});

Deno.test("hostile input: caps, __proto__ headers, binary garbage", () => {
  const many = "OPTIONS sip:a@b SIP/2.0\r\n" + "X-A: 1\r\n".repeat(300) + "\r\n";
  assert.deepEqual(parseSipMessage(encoder.encode(many)), {
    ok: false,
    reason: "sip.too-many-headers",
  });
  assert.ok(parseSipMessage(encoder.encode(many), { maxHeaders: 400 }).ok);
  const long = `OPTIONS sip:a@b SIP/2.0\r\nX-A: ${"x".repeat(70000)}\r\n\r\n`;
  assert.deepEqual(parseSipMessage(encoder.encode(long)), {
    ok: false,
    reason: "sip.header-too-long",
  });
  const proto = request(
    encoder.encode("OPTIONS sip:a@b SIP/2.0\r\n__proto__: 1\r\nconstructor: 2\r\n\r\n"),
  );
  assert.equal(proto.headers.get("__proto__"), "1");
  // Random bytes after a valid start line never throw.
  let seed = 12345;
  for (let round = 0; round < 500; round++) {
    const junk = new Uint8Array(200);
    for (let i = 0; i < junk.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      junk[i] = seed >>> 24;
    }
    const bytes = new Uint8Array([...encoder.encode("INVITE sip:a@b SIP/2.0\r\n"), ...junk]);
    const result = parseSipMessage(bytes);
    assert.ok(result.ok || result.reason.startsWith("sip."));
    assert.notEqual(!result.ok && result.reason, "sip.parser-error");
  }
});

Deno.test("stays linear on pathological input", () => {
  const quotes = `INVITE sip:a@b SIP/2.0\r\nFrom: ${'"\\'.repeat(5000)}\r\nContact: ${
    "<".repeat(5000)
  }\r\nVia: ${"SIP/".repeat(3000)}\r\n\r\n`;
  const start = performance.now();
  const result = parseSipMessage(encoder.encode(quotes));
  assert.ok(result.ok);
  assert.ok(performance.now() - start < 200, "parse took too long");
});

// Real messages from ../../../shared/captures (see testdata/extract.ts).

Deno.test("real: compact form INVITE (suricata__sip_compact_form.pcap)", () => {
  const m = request(testdata("compact_form_invite.sip"));
  assert.equal(m.callId, "105090259-446faf7a@192.168.1.2");
  assert.equal(m.vias[0]?.branch, "z9hG4bKnp104984053-44ce4a41192.168.1.2");
  assert.equal(m.from?.uri?.user, "816666");
  assert.equal(m.from?.tag, "6433ef9");
  assert.equal(m.to?.uri?.user, "97239287044");
  assert.equal(m.contentType, "application/sdp");
  assert.equal(m.contentLength, 272);
  assert.equal(m.headers.getAll("allow").length, 8);
  assert.equal(m.body.length, 272);
  assert.deepEqual(m.warnings, []);
  const sdp = decoder.decode(m.body);
  assert.ok(sdp.startsWith("v=0\r\n"));
  assert.ok(sdp.endsWith("z=2882844")); // tshark flags this SDP as malformed
  // A copy cut short: the declared length is now more than there is.
  const cut = parseOk(testdata("compact_form_invite.sip").subarray(0, 700));
  assert.ok(cut.warnings.includes("content-length-exceeds-data"));
  assert.equal(cut.body.length, 272 - 94);
});

Deno.test("real: multipart SDP + ISUP over SCTP (heplify__sip_sctp.pcap)", () => {
  const m = request(testdata("sctp_multipart_invite.sip"));
  assert.equal(m.contentType, "multipart/mixed");
  assert.equal(m.body.length, 657);
  assert.deepEqual(m.parts.map((p) => p.contentType), ["application/sdp", "application/isup"]);
  assert.ok(decoder.decode(m.parts[0]?.body).startsWith("v=0\r\no=- 0 0 IN IP4 10.249.30.2\r\n"));
  assert.equal(m.parts[1]?.headers.get("content-transfer-encoding"), "binary");
  assert.equal(m.parts[1]?.body[0], 0x01);
  assert.equal(m.vias[0]?.transport, "SCTP");
  assert.deepEqual(m.headers.getAll("p-asserted-identity"), [
    "<sip:9171969136@astrakhan.megafonvolga.ru;user=phone>",
    "<tel:9171969136;phone-context=+7>",
  ]);
  assert.deepEqual(m.headers.getAll("supported"), ["100rel", "timer"]);
  assert.deepEqual(m.warnings, []);
});

Deno.test("real: REFER with Replaces (heplify__erspan_sip_ipv4_udp.pcapng)", () => {
  const m = request(testdata("refer_replaces.sip"));
  assert.equal(m.method, "REFER");
  assert.equal(m.to?.displayName, "test");
  const referTo = m.headers.get("refer-to") ?? "";
  assert.match(referTo, /Replaces=bf3880/);
  assert.equal(m.headers.get("referred-by"), "<sip:20008909@101.231.48.19:5260>");
  assert.deepEqual(m.cseq, { seq: 1709929694, method: "REFER" });
});

Deno.test("real: NOTIFY with bare addr-spec To/From (heplify__erspan_sip_ipv4_udp.pcapng)", () => {
  const m = request(testdata("notify_bare_addr_spec.sip"));
  assert.equal(
    m.to?.tag,
    "00E4EF38-be7fb8-0-16e4-5af571e2-26bfc18c-5af571e2z9hG4bK-5af571e2-4ec4dcaa-4bc94fee",
  );
  assert.equal(m.to?.uri?.params.size, 0);
  assert.equal(m.from?.tag, "0b4341fec04ef9d8eb6b92c51c653086");
  assert.equal(m.contacts[0]?.uri?.host, "192.168.1.191");
  assert.equal(m.headers.get("o"), "user-profile");
  assert.equal(m.body.length, 294);
});

Deno.test("real: 407 and hold re-INVITE (heplify__erspan_sip_ipv4_udp.pcapng)", () => {
  const challenge = response(testdata("proxy_auth_407.sip"));
  assert.equal(challenge.status, 407);
  assert.equal(challenge.headers.getAll("proxy-authenticate").length, 1);
  const hold = request(testdata("hold_reinvite.sip"));
  assert.equal(hold.contentLength, 215);
  assert.equal(hold.body.length, 215);
  assert.match(decoder.decode(hold.body), /a=sendonly/);
});

Deno.test("real: invalid Content-Length (zeek__invalid-content-length.pcap)", () => {
  for (const name of ["bad_content_length_request.sip", "bad_content_length_response.sip"]) {
    const m = parseOk(testdata(name));
    assert.equal(m.contentLength, null);
    assert.ok(m.warnings.includes("bad-content-length"), name);
    assert.equal(m.callId, "a84b4c76e66710@10.0.0.1");
  }
});

Deno.test("real: user-defined method INVITE1 (snort3demo__user_defined_method.pcap)", () => {
  const m = request(testdata("user_defined_method.sip"));
  assert.equal(m.method, "INVITE1");
  assert.equal(m.requestUri?.params.get("user"), "phone");
  assert.equal(decoder.decode(m.body), "good");
  assert.ok(m.warnings.includes("cseq-method-mismatch"));
});

Deno.test("real: ten long Via headers (zeek__sip-long-request-response-paths.pcap)", () => {
  const m = request(testdata("long_via_options.sip"));
  assert.equal(m.vias.length, 10);
  assert.ok(m.vias.every((v) => v.transport === "UDP" && v.host.length > 100));
  assert.deepEqual(m.warnings, []);
});

Deno.test("real: unbracketed IPv6 (heplify__sip_ipv6.pcap)", () => {
  const m = request(testdata("ipv6_unbracketed_invite.sip"));
  assert.equal(m.requestUri?.host, "fec0:0:0:0:216:d3ff:fe0d:22c");
  assert.equal(m.requestUri?.port, 5060);
  assert.equal(m.vias[0]?.host, "fe80:0:0:0:21a:a0ff:fe07:32e0");
  assert.deepEqual(m.warnings, []);
});

Deno.test("real: datagram without the empty line (snort3demo__digium.pcap)", () => {
  const m = request(testdata("register_no_empty_line.sip"));
  assert.equal(m.method, "REGISTER");
  assert.equal(m.requestUri, null);
  assert.ok(m.warnings.includes("no-header-end"));
  assert.ok(m.warnings.includes("bad-request-uri"));
  assert.equal(m.contentLength, 0);
});

Deno.test("real: fuzzed start line fails with a reason (ndpi__fuzz-2006-06-26-2594.pcap)", () => {
  assert.deepEqual(parseSipMessage(testdata("fuzzed_start_line.sip")), {
    ok: false,
    reason: "sip.bad-start-line",
  });
});
