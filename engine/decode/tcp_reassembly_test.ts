import assert from "node:assert/strict";
import { TcpDirection } from "./tcp_reassembly.ts";

const TEXT = new TextEncoder();
const DATA = TEXT.encode("abcdefghijklmnopqrstuvwxyz0123456789");

function text(d: TcpDirection): string {
  return new TextDecoder().decode(d.buffer.subarray(0, d.length));
}

Deno.test("tcp: segments in order, across the 32-bit sequence wrap", () => {
  const d = new TcpDirection();
  const isn = 0xfffffffa;
  assert.equal(d.push(isn, new Uint8Array(0), 0, 0, true), "empty");
  assert.equal(d.push(isn + 1, DATA, 0, 10), "data");
  assert.equal(d.push((isn + 11) >>> 0, DATA, 10, 36), "data");
  assert.equal(text(d), "abcdefghijklmnopqrstuvwxyz0123456789");
});

Deno.test("tcp: out-of-order segments are held until the hole fills", () => {
  const d = new TcpDirection();
  d.push(100, DATA, 0, 5);
  assert.equal(d.push(115, DATA, 15, 36), "held");
  assert.equal(d.push(110, DATA, 10, 15), "held");
  assert.equal(text(d), "abcde");
  assert.equal(d.push(105, DATA, 5, 10), "data");
  assert.equal(text(d), "abcdefghijklmnopqrstuvwxyz0123456789");
});

Deno.test("tcp: retransmissions and overlaps add nothing twice", () => {
  const d = new TcpDirection();
  d.push(0, DATA, 0, 10);
  assert.equal(d.push(0, DATA, 0, 10), "retransmission");
  assert.equal(d.push(5, DATA, 5, 20), "data"); // overlaps 5 bytes already there
  assert.equal(d.retransmissions, 1);
  assert.equal(text(d), "abcdefghijklmnopqrst");
  d.consume(12);
  assert.equal(text(d), "mnopqrst");
});

Deno.test("tcp: a hole that never fills is skipped and flagged", () => {
  const d = new TcpDirection({
    maxOutOfOrderBytes: 1 << 20,
    maxOutOfOrderSegments: 3,
    maxBufferedBytes: 1 << 20,
  });
  d.push(0, DATA, 0, 4);
  // Bytes 4..9 are missing from the capture.
  d.push(10, DATA, 10, 12);
  d.push(12, DATA, 12, 14);
  d.push(14, DATA, 14, 16);
  assert.equal(d.gap, false);
  d.push(16, DATA, 16, 18); // a fourth held segment: give up the hole
  assert.equal(d.gap, true);
  assert.equal(d.lostBytes, 6);
  assert.equal(text(d), "klmnopqr");
});
