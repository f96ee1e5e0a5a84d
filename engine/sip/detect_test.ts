import assert from "node:assert/strict";
import { looksLikeSip, SIP_DEFAULT_PORTS } from "./detect.ts";

const encoder = new TextEncoder();

function looks(text: string): boolean {
  const bytes = encoder.encode(text);
  return looksLikeSip(bytes, 0, bytes.length);
}

Deno.test("requests and responses look like SIP", () => {
  for (
    const text of [
      "INVITE sip:*8@112.222.225.104:5060 SIP/2.0\r\nVia: x\r\n",
      "SIP/2.0 407 Proxy Authentication Required\r\n",
      "SIP/2.0 100 Trying\r\n",
      "ACK sip:a@b SIP/2.0\r\n",
      "REGIStER pip:sip.cybercity.dk SIP/2.0\r\n",
      "INVITE1 sip:4321@192.168.1.87;user=phone SIP/2.0\r\n",
      "MESSAGE tel:+1234 SIP/2.0\n",
      "OPTIONS sips:[2001:db8::1]:5061 SIP/2.0\r\n",
      "\r\n\r\nBYE sip:a@b SIP/2.0\r\n",
      "NOTIFY sip:a@b SIP/2.0", // line not terminated: end of data
    ]
  ) {
    assert.equal(looks(text), true, JSON.stringify(text));
  }
});

Deno.test("other payloads do not", () => {
  for (
    const text of [
      "",
      "SIP/2.0 ",
      "GET / HTTP/1.1\r\nHost: x\r\n",
      "HTTP/1.1 200 OK\r\n",
      "INVITE sip:a@b SIP/3.0\r\n",
      "INVITE sip:a@b\r\nSIP/2.0\r\n",
      "invite sip:a@b SIP/2.0\r\n",
      "AB sip:a@b SIP/2.0\r\n",
      "INVITE 123:a@b SIP/2.0\r\n",
      "INVITE sip a@b SIP/2.0\r\n",
      `${"A".repeat(40)} sip:a@b SIP/2.0\r\n`,
      `INVITE sip:${"a".repeat(5000)} SIP/2.0\r\n`,
      "SIP/2.0 2x0 OK\r\n",
      "\r\n\r\n\r\n\r\n\r\nINVITE sip:a@b SIP/2.0\r\n",
    ]
  ) {
    assert.equal(looks(text), false, JSON.stringify(text));
  }
});

Deno.test("RTP is rejected on its first byte", () => {
  const rtp = new Uint8Array(172);
  for (const first of [0x80, 0x90, 0xa0, 0xbf]) {
    rtp[0] = first;
    rtp.set(encoder.encode("INVITE sip:a@b SIP/2.0"), 1);
    assert.equal(looksLikeSip(rtp, 0, rtp.length), false);
  }
});

Deno.test("offset and length bound the test", () => {
  const bytes = encoder.encode("xxxxOPTIONS sip:a@b SIP/2.0\r\nyyyy");
  assert.equal(looksLikeSip(bytes, 4, bytes.length - 4), true);
  assert.equal(looksLikeSip(bytes, 0, bytes.length), false);
  // Length cuts the line before " SIP/2.0".
  assert.equal(looksLikeSip(bytes, 4, 18), false);
  // Length past the end of the buffer is clamped.
  assert.equal(looksLikeSip(bytes, 4, 1000), true);
});

Deno.test("the reject path is cheap", () => {
  const rtp = new Uint8Array(1500);
  rtp[0] = 0x80;
  const text = encoder.encode("INVITE sip:a@b SIP/2.0\r\n");
  const rounds = 1_000_000;
  let count = 0;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) {
    if (looksLikeSip(rtp, 0, rtp.length)) count++;
    if (looksLikeSip(text, 0, text.length)) count++;
  }
  const perCall = (performance.now() - start) * 1e6 / (2 * rounds);
  assert.equal(count, rounds);
  console.log(`looksLikeSip: ${perCall.toFixed(1)} ns per call`);
  assert.ok(perCall < 2000, `${perCall} ns per call`);
});

Deno.test("default ports", () => {
  assert.equal(SIP_DEFAULT_PORTS.has(5060), true);
  assert.equal(SIP_DEFAULT_PORTS.has(5061), true);
  assert.equal(SIP_DEFAULT_PORTS.has(5062), false);
});
