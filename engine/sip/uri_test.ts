import assert from "node:assert/strict";
import { parseHostPort, parseSipUri, unescapePercent } from "./uri.ts";

Deno.test("feature-code and odd user parts from a Centrex site", () => {
  for (
    const [text, user] of [
      ["sip:*8@112.222.225.104:5060", "*8"],
      ["sip:**5@112.222.225.104", "**5"],
      ["sip:%2A8@112.222.225.104", "*8"],
      ["sip:109Q1427@192.168.0.55:5060", "109Q1427"],
      ["sip:+821077141436@112.222.225.104;user=phone", "+821077141436"],
      ["sip:01077141436@112.222.225.104", "01077141436"],
    ] as const
  ) {
    const uri = parseSipUri(text);
    assert.ok(uri !== null, text);
    assert.equal(uri.user, user, text);
    assert.equal(uri.scheme, "sip");
    assert.equal(uri.raw, text);
  }
});

Deno.test("host, port, params and headers", () => {
  const uri = parseSipUri(
    "SIP:alice:secret@Atlanta.COM:5061;Transport=TCP;lr;maddr=239.255.255.1?Subject=project%20x&Priority=urgent",
  );
  assert.ok(uri !== null);
  assert.equal(uri.scheme, "sip");
  assert.equal(uri.user, "alice"); // password dropped
  assert.equal(uri.host, "atlanta.com");
  assert.equal(uri.port, 5061);
  assert.deepEqual([...uri.params], [["transport", "TCP"], ["lr", null], [
    "maddr",
    "239.255.255.1",
  ]]);
  assert.deepEqual([...uri.headers], [["Subject", "project x"], ["Priority", "urgent"]]);
});

Deno.test("Refer-To with an escaped Replaces header", () => {
  const uri = parseSipUri(
    "sip:20008910@101.231.48.19:5260?Replaces=bf38-0%40101.231.48.19%3Bto-tag%3D41B4%3Bfrom-tag%3Dbe61",
  );
  assert.equal(uri?.headers.get("Replaces"), "bf38-0@101.231.48.19;to-tag=41B4;from-tag=be61");
  assert.equal(uri?.user, "20008910");
});

Deno.test("user part with ';' (RFC 3261 example) and no user", () => {
  assert.equal(parseSipUri("sip:alice;day=tuesday@atlanta.com")?.user, "alice;day=tuesday");
  const noUser = parseSipUri("sip:192.168.1.222:5260;orig-user=20008909;transport=udp");
  assert.equal(noUser?.user, null);
  assert.equal(noUser?.host, "192.168.1.222");
  assert.equal(noUser?.params.get("orig-user"), "20008909");
});

Deno.test("IPv6 hosts, bracketed and not", () => {
  const bracketed = parseSipUri("sips:[2001:DB8::9:1]:5061;transport=tls");
  assert.equal(bracketed?.scheme, "sips");
  assert.equal(bracketed?.host, "2001:db8::9:1");
  assert.equal(bracketed?.port, 5061);
  // Seen from a real phone (heplify__sip_ipv6.pcap): nine groups, the last is the port.
  const bare = parseSipUri("sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0:5060");
  assert.equal(bare?.host, "fe80:0:0:0:21a:a0ff:fe07:32e0");
  assert.equal(bare?.port, 5060);
  const eight = parseSipUri("sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c");
  assert.equal(eight?.host, "fec0:0:0:0:216:d3ff:fe0d:22c");
  assert.equal(eight?.port, null);
});

Deno.test("tel and other schemes", () => {
  const tel = parseSipUri("tel:+1-201-555-0123;phone-context=+7");
  assert.equal(tel?.scheme, "tel");
  assert.equal(tel?.user, "+1-201-555-0123");
  assert.equal(tel?.host, "");
  assert.equal(tel?.params.get("phone-context"), "+7");
  const urn = parseSipUri("urn:service:sos");
  assert.equal(urn?.scheme, "urn");
  assert.equal(urn?.host, "");
  const http = parseSipUri("http://www.example.com:8080/alice/photo.jpg");
  assert.equal(http?.host, "www.example.com");
  assert.equal(http?.port, 8080);
  assert.equal(parseSipUri("mailto:carol@chicago.com")?.user, "carol");
});

Deno.test("invalid URIs give null", () => {
  for (
    const text of [
      "",
      "sip:",
      "sip:;transport=UDP",
      "sip:@",
      "pip",
      "1sip:a@b",
      "sip:a@b:99999",
      "sip:a@b:5x",
      "sip:a@[::1",
      "sip:a b@c",
      "sip:a@host\ufffdname",
      "sip:a@<b>",
      "tel:",
    ]
  ) {
    assert.equal(parseSipUri(text), null, JSON.stringify(text));
  }
});

Deno.test("unescapePercent decodes UTF-8 and tolerates malformed escapes", () => {
  assert.equal(unescapePercent("%ED%99%8D"), "홍");
  assert.equal(unescapePercent("a%2"), "a%2");
  assert.equal(unescapePercent("%2A%FF"), "*%FF");
});

Deno.test("parseHostPort rejects empty hosts and bad ports", () => {
  assert.deepEqual(parseHostPort("Example.com:5060"), { host: "example.com", port: 5060 });
  assert.equal(parseHostPort(""), null);
  assert.equal(parseHostPort(":5060"), null);
  assert.equal(parseHostPort("[::1]x"), null);
});
