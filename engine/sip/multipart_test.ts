import assert from "node:assert/strict";
import { MAX_BODY_PARTS, multipartBoundary, parseMultipart } from "./multipart.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("multipartBoundary reads quoted and plain boundaries", () => {
  assert.equal(
    multipartBoundary("multipart/mixed;boundary=8AF759A68474B6758999EB624E30C5271AF8251E"),
    "8AF759A68474B6758999EB624E30C5271AF8251E",
  );
  assert.equal(
    multipartBoundary('multipart/mixed; charset=x; Boundary="unique-boundary-1"'),
    "unique-boundary-1",
  );
  assert.equal(multipartBoundary("multipart/mixed"), null);
  assert.equal(multipartBoundary("multipart/mixed;boundary="), null);
});

Deno.test("SDP plus binary ISUP, with preamble and epilogue", () => {
  const isup = new Uint8Array([0x01, 0x00, 0x20, 0x01, 0x0a, 0x00, 0x02, 0x0d, 0x0a, 0x2d, 0x2d]);
  const body = new Uint8Array([
    ...encoder.encode(
      "preamble\r\n--b1\r\nContent-Type: application/sdp\r\nContent-Disposition: session\r\n\r\nv=0\r\nm=audio 4000 RTP/AVP 8\r\n\r\n--b1\r\nContent-Type: application/ISUP;version=itu-t92+\r\n\r\n",
    ),
    ...isup,
    ...encoder.encode("\r\n--b1--\r\nepilogue"),
  ]);
  const parts = parseMultipart(body, "b1");
  assert.equal(parts.length, 2);
  assert.equal(parts[0]?.contentType, "application/sdp");
  assert.equal(parts[0]?.headers.get("content-disposition"), "session");
  assert.equal(decoder.decode(parts[0]?.body), "v=0\r\nm=audio 4000 RTP/AVP 8\r\n");
  assert.equal(parts[1]?.contentType, "application/isup");
  assert.deepEqual(parts[1]?.body, isup);
  // Views, not copies.
  assert.equal(parts[1]?.body.buffer, body.buffer);
});

Deno.test("LF-only delimiters, a part without headers, a missing close delimiter", () => {
  const parts = parseMultipart(
    encoder.encode("--x\n\nplain text\n--x\nContent-Type: text/html\n\n<p>"),
    "x",
  );
  assert.equal(parts.length, 2);
  assert.equal(parts[0]?.contentType, "text/plain");
  assert.equal(parts[0]?.headers.size, 0);
  assert.equal(decoder.decode(parts[0]?.body), "plain text");
  assert.equal(parts[1]?.contentType, "text/html");
  assert.equal(decoder.decode(parts[1]?.body), "<p>");
});

Deno.test("the boundary only counts at the start of a line", () => {
  const parts = parseMultipart(encoder.encode("--q\r\n\r\na --q b\r\n--q--"), "q");
  assert.equal(parts.length, 1);
  assert.equal(decoder.decode(parts[0]?.body), "a --q b");
});

Deno.test("no delimiter, empty boundary, and a flood of parts", () => {
  assert.deepEqual(parseMultipart(encoder.encode("v=0\r\n"), "b"), []);
  assert.deepEqual(parseMultipart(encoder.encode("--\r\n"), ""), []);
  const flood = encoder.encode("--f\r\n\r\nx\r\n".repeat(1000));
  assert.equal(parseMultipart(flood, "f").length, MAX_BODY_PARTS);
});
