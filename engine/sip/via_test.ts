import assert from "node:assert/strict";
import { parseVia } from "./via.ts";

Deno.test("a Via with received and rport", () => {
  const via = parseVia(
    "SIP/2.0/UDP 192.168.1.222:5260;received=192.168.1.222;branch=z9hG4bKeb7BQadZ;rport=5260",
  );
  assert.ok(via !== null);
  assert.equal(via.transport, "UDP");
  assert.equal(via.host, "192.168.1.222");
  assert.equal(via.port, 5260);
  assert.equal(via.branch, "z9hG4bKeb7BQadZ");
  assert.equal(via.params.get("received"), "192.168.1.222");
  assert.equal(via.params.get("rport"), "5260");
});

Deno.test("transports, spaces around slashes, no port, flag params", () => {
  const via = parseVia("SIP / 2.0 / tcp   client.biloxi.example.com;branch=z9hG4bK1;rport");
  assert.equal(via?.transport, "TCP");
  assert.equal(via?.host, "client.biloxi.example.com");
  assert.equal(via?.port, null);
  assert.equal(via?.params.get("rport"), null);
  assert.equal(parseVia("SIP/2.0/SCTP 10.249.30.11:5060;branch=z9")?.transport, "SCTP");
  assert.equal(parseVia("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf")?.transport, "WSS");
  assert.equal(parseVia("SIP/2.0/UDP 10.0.0.1")?.branch, null);
});

Deno.test("IPv6 sent-by, bracketed and as real phones send it", () => {
  const v6 = parseVia("SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK1");
  assert.equal(v6?.host, "2001:db8::1");
  assert.equal(v6?.port, 5070);
  const bare = parseVia("SIP/2.0/UDP fe80:0:0:0:21a:a0ff:fe07:32e0:5060;branch=z9hG4bKkdjuw8376");
  assert.equal(bare?.host, "fe80:0:0:0:21a:a0ff:fe07:32e0");
  assert.equal(bare?.port, 5060);
});

Deno.test("a trailing comment is ignored", () => {
  const via = parseVia("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK77 (Acme proxy)");
  assert.equal(via?.branch, "z9hG4bK77");
});

Deno.test("malformed Vias give null", () => {
  for (
    const text of [
      "",
      "SIP/2.0/UDP",
      "SIP/2.0 10.0.0.1",
      "SIP\u001a2.0/UDP 192.168.1.2;branch=z9",
      "SIP/2.0/UDP 192.168\u000e1.2;branch=z9",
      "SIP/2.0/UDP 10.0.0.1:99999",
      "SIP/2.0/UDP10.0.0.1",
    ]
  ) {
    assert.equal(parseVia(text), null, JSON.stringify(text));
  }
});
