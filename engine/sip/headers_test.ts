import assert from "node:assert/strict";
import {
  canonicalHeaderName,
  canonicalHeaderNameAt,
  isTrimmed,
  LIST_HEADERS,
  parseHeaderBlock,
  SipHeaders,
  splitHeaderList,
} from "./headers.ts";

function headersOf(text: string): SipHeaders {
  const result = parseHeaderBlock(text);
  assert.ok(result.ok, "header block should parse");
  return result.headers;
}

Deno.test("canonicalHeaderName expands every compact form of the brief", () => {
  const expected: [string, string][] = [
    ["i", "call-id"],
    ["m", "contact"],
    ["e", "content-encoding"],
    ["l", "content-length"],
    ["c", "content-type"],
    ["f", "from"],
    ["s", "subject"],
    ["k", "supported"],
    ["t", "to"],
    ["v", "via"],
    ["o", "event"],
    ["r", "refer-to"],
    ["b", "referred-by"],
    ["u", "allow-events"],
    ["x", "session-expires"],
    ["a", "accept-contact"],
    ["j", "reject-contact"],
    ["d", "request-disposition"],
    ["y", "identity"],
    ["n", "identity-info"],
  ];
  for (const [compact, full] of expected) {
    assert.equal(canonicalHeaderName(compact), full, compact);
    assert.equal(canonicalHeaderName(compact.toUpperCase()), full, compact.toUpperCase());
  }
  assert.equal(canonicalHeaderName("q"), "q"); // not a compact form
  assert.equal(canonicalHeaderName("X-Xfer-Pressed"), "x-xfer-pressed");
});

Deno.test("lookup is case-insensitive and compact forms meet full names", () => {
  const h = headersOf("i: abc@host\r\nCALL-ID: second\r\nf: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n");
  assert.equal(h.get("Call-ID"), "abc@host");
  assert.equal(h.get("i"), "abc@host");
  assert.deepEqual(h.getAll("call-id"), ["abc@host", "second"]);
  assert.equal(h.get("FROM"), "<sip:a@b>;tag=1");
  assert.equal(h.has("t"), true);
  assert.equal(h.has("contact"), false);
  assert.equal(h.get("contact"), undefined);
  assert.deepEqual(h.getAll("contact"), []);
  assert.equal(h.size, 4);
  assert.deepEqual([...h.entries()].map(([name]) => name), ["call-id", "call-id", "from", "to"]);
});

Deno.test("folded lines are unfolded into one value", () => {
  const h = headersOf(
    "Subject: I know you're there,\r\n  pick up the phone\r\n\tand talk to me!\r\nVia: SIP/2.0/UDP a;branch=1,\r\n SIP/2.0/UDP b;branch=2\r\n",
  );
  assert.equal(h.get("subject"), "I know you're there, pick up the phone and talk to me!");
  assert.deepEqual(h.getAll("via"), ["SIP/2.0/UDP a;branch=1", "SIP/2.0/UDP b;branch=2"]);
  assert.equal(h.size, 2);
});

Deno.test("LF-only line ends and space before the colon are accepted", () => {
  const h = headersOf("Call-ID : x1\nCSeq:1 INVITE\n");
  assert.equal(h.get("call-id"), "x1");
  assert.equal(h.get("cseq"), "1 INVITE");
});

Deno.test("list headers split on commas, but not inside quotes or angle brackets", () => {
  const h = headersOf(
    'Contact: "07086661427,1427" <sip:1427@192.168.0.55:5060>;expires=60, <sip:1428@192.168.0.54;x=a,b>\r\n' +
      "Allow: INVITE, ACK,CANCEL , BYE\r\nAllow: REFER\r\n",
  );
  assert.deepEqual(h.getAll("m"), [
    '"07086661427,1427" <sip:1427@192.168.0.55:5060>;expires=60',
    "<sip:1428@192.168.0.54;x=a,b>",
  ]);
  assert.equal(h.get("contact"), '"07086661427,1427" <sip:1427@192.168.0.55:5060>;expires=60');
  assert.deepEqual(h.getAll("allow"), ["INVITE", "ACK", "CANCEL", "BYE", "REFER"]);
  assert.equal(h.get("allow"), "INVITE");
  assert.deepEqual(h.lines("allow"), ["INVITE, ACK,CANCEL , BYE", "REFER"]);
});

Deno.test("headers that are not lists are never split", () => {
  const auth =
    'Digest username="109Q1427", realm="centrex", nonce="a,b", uri="sip:*8@112.222.225.104:5060", response="0f"';
  const h = headersOf(
    `Proxy-Authorization: ${auth}\r\nWWW-Authenticate: Digest realm="x", nonce="y"\r\n` +
      "Date: Wed, 19 Mar 2025 04:24:50 GMT\r\nUser-Agent: Phone 1.0 (a, b)\r\nSubject: a, b\r\n",
  );
  assert.deepEqual(h.getAll("proxy-authorization"), [auth]);
  assert.deepEqual(h.getAll("www-authenticate"), ['Digest realm="x", nonce="y"']);
  assert.deepEqual(h.getAll("date"), ["Wed, 19 Mar 2025 04:24:50 GMT"]);
  assert.deepEqual(h.getAll("user-agent"), ["Phone 1.0 (a, b)"]);
  assert.deepEqual(h.getAll("s"), ["a, b"]);
  for (const name of ["www-authenticate", "authorization", "date", "user-agent", "subject"]) {
    assert.equal(LIST_HEADERS.has(name), false, name);
  }
});

Deno.test("splitHeaderList handles escaped quotes and drops empty elements", () => {
  assert.deepEqual(splitHeaderList('"a \\" , b" <sip:x>, , <sip:y>'), [
    '"a \\" , b" <sip:x>',
    "<sip:y>",
  ]);
  assert.deepEqual(splitHeaderList("  "), []);
});

Deno.test("empty values and hostile names are harmless", () => {
  const h = headersOf("Supported:\r\n__proto__: x\r\nconstructor: y\r\nSubject:\r\n");
  assert.equal(h.has("supported"), true);
  assert.equal(h.get("supported"), "");
  assert.deepEqual(h.getAll("supported"), []);
  assert.equal(h.get("subject"), "");
  assert.equal(h.get("__proto__"), "x");
  assert.equal(h.get("constructor"), "y");
  assert.equal(h.get("toString"), undefined);
});

Deno.test("bad lines are skipped with a warning", () => {
  const result = parseHeaderBlock("Call-ID: a\r\nno colon here\r\n: empty name\r\nBad Name: v\r\n");
  assert.ok(result.ok);
  assert.equal(result.headers.size, 1);
  assert.deepEqual(result.warnings, ["bad-header-line", "bad-header-line", "bad-header-line"]);
});

Deno.test("caps on header count and line length fail the block", () => {
  const many = Array.from({ length: 300 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
  assert.deepEqual(parseHeaderBlock(many), { ok: false, reason: "sip.too-many-headers" });
  assert.ok(parseHeaderBlock(many, { maxHeaders: 300 }).ok);
  const long = `X-Long: ${"a".repeat(20000)}\r\n`;
  assert.deepEqual(parseHeaderBlock(long), { ok: false, reason: "sip.header-too-long" });
  const folded = `X-Long: a\r\n${" b\r\n".repeat(9000)}`;
  assert.deepEqual(parseHeaderBlock(folded), { ok: false, reason: "sip.header-too-long" });
});

Deno.test("a direct append keeps wire order", () => {
  const h = new SipHeaders();
  h.append("v", "SIP/2.0/UDP a");
  h.append("Via", "SIP/2.0/TCP b, SIP/2.0/UDP c");
  assert.deepEqual(h.getAll("VIA"), ["SIP/2.0/UDP a", "SIP/2.0/TCP b", "SIP/2.0/UDP c"]);
});

Deno.test("canonicalHeaderNameAt names a header in place as canonicalHeaderName does", () => {
  const names = [
    "Via",
    "VIA",
    "v",
    "V",
    "Call-ID",
    "call-id",
    "CSeq",
    "Content-Length",
    "l",
    "To",
    "T",
    "X-xfer-pressed",
    "Cseq2",
    "Vib",
    "Contact",
    "Contacts",
    "z",
    "P-Asserted-Identity",
  ];
  for (const name of names) {
    const text = `  ${name}: value`;
    assert.equal(
      canonicalHeaderNameAt(text, 2, 2 + name.length),
      canonicalHeaderName(name),
      name,
    );
  }
});

Deno.test("isTrimmed matches what String.prototype.trim removes, for every UTF-16 code unit", () => {
  for (let c = 0; c < 0x10000; c++) {
    const ch = String.fromCharCode(c);
    assert.equal(isTrimmed(c), `${ch}x${ch}`.trim() === "x", `U+${c.toString(16)}`);
  }
});
