import assert from "node:assert/strict";
import { parseNameAddr } from "./name_addr.ts";

Deno.test("quoted display name with a comma, as the Centrex server sends it", () => {
  const from = parseNameAddr('"07086661427,1427" <sip:1427@112.222.225.104:5060>;tag=8f2a1c');
  assert.ok(from !== null);
  assert.equal(from.displayName, "07086661427,1427");
  assert.equal(from.uri?.user, "1427");
  assert.equal(from.uri?.port, 5060);
  assert.equal(from.rawUri, "sip:1427@112.222.225.104:5060");
  assert.equal(from.tag, "8f2a1c");
  assert.equal(from.raw, '"07086661427,1427" <sip:1427@112.222.225.104:5060>;tag=8f2a1c');
});

Deno.test("escapes inside the quoted display name, and UTF-8 names", () => {
  const a = parseNameAddr('"Bob \\"the\\" Builder" <sip:bob@b.example>');
  assert.equal(a?.displayName, 'Bob "the" Builder');
  assert.equal(a?.tag, null);
  assert.equal(parseNameAddr('"홍길동" <sip:1427@x>')?.displayName, "홍길동");
  assert.equal(parseNameAddr('"" <sip:a@b>')?.displayName, "");
  // No space between the quote and '<' (heplify__erspan_sip_ipv4_udp.pcapng).
  assert.equal(parseNameAddr('"test"<sip:20008777@101.231.48.19:5060>;tag=x')?.displayName, "test");
});

Deno.test("unquoted display names are tokens before '<'", () => {
  const a = parseNameAddr("111 <sip:111@192.168.1.36>;tag=4mk6zs44r5");
  assert.equal(a?.displayName, "111");
  assert.equal(a?.tag, "4mk6zs44r5");
  assert.equal(parseNameAddr("  Alice  Smith <sip:a@b>")?.displayName, "Alice  Smith");
  assert.equal(parseNameAddr("<sip:a@b>")?.displayName, null);
});

Deno.test("bare addr-spec: parameters belong to the header (RFC 3261 §20.10)", () => {
  const to = parseNameAddr("sip:20008909@192.168.1.191:5060;tag=00E4EF38-be7f");
  assert.ok(to !== null);
  assert.equal(to.displayName, null);
  assert.equal(to.rawUri, "sip:20008909@192.168.1.191:5060");
  assert.equal(to.uri?.params.size, 0);
  assert.equal(to.tag, "00E4EF38-be7f");
  // In angle brackets the same parameter belongs to the URI.
  const inside = parseNameAddr("<sip:20008909@192.168.1.191:5060;tag=x>");
  assert.equal(inside?.tag, null);
  assert.equal(inside?.uri?.params.get("tag"), "x");
});

Deno.test("header parameters after the URI", () => {
  const contact = parseNameAddr(
    '<sip:1427@192.168.0.55:5060;transport=udp>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000B82A1B2C3>";q=0.7',
  );
  assert.ok(contact !== null);
  assert.equal(contact.uri?.params.get("transport"), "udp");
  assert.equal(contact.params.get("expires"), "3600");
  assert.equal(
    contact.params.get("+sip.instance"),
    "<urn:uuid:00000000-0000-1000-8000-000B82A1B2C3>",
  );
  assert.equal(contact.params.get("q"), "0.7");
  assert.equal(contact.params.has("transport"), false);
});

Deno.test("'*' Contact of a REGISTER", () => {
  const star = parseNameAddr("*");
  assert.ok(star !== null);
  assert.equal(star.rawUri, "*");
  assert.equal(star.uri, null);
});

Deno.test("Refer-To, Referred-By, P-Asserted-Identity and Remote-Party-ID shapes", () => {
  const referTo = parseNameAddr(
    "<sip:1428@112.222.225.104?Replaces=e513%40192.168.0.55%3Bto-tag%3Da%3Bfrom-tag%3Db>",
  );
  assert.equal(referTo?.uri?.headers.get("Replaces"), "e513@192.168.0.55;to-tag=a;from-tag=b");
  const referredBy = parseNameAddr('"1427" <sip:1427@112.222.225.104>');
  assert.equal(referredBy?.uri?.user, "1427");
  const pai = parseNameAddr("<tel:9171969136;phone-context=+7>");
  assert.equal(pai?.uri?.scheme, "tel");
  assert.equal(pai?.uri?.user, "9171969136");
  const rpid = parseNameAddr(
    '"01077141436" <sip:01077141436@112.222.225.104>;party=calling;privacy=off;screen=no',
  );
  assert.equal(rpid?.params.get("party"), "calling");
  assert.equal(rpid?.uri?.user, "01077141436");
});

Deno.test("a URI that does not parse keeps rawUri and a null uri", () => {
  const a = parseNameAddr("<garbage>;tag=1");
  assert.ok(a !== null);
  assert.equal(a.uri, null);
  assert.equal(a.rawUri, "garbage");
  assert.equal(a.tag, "1");
  // Backslash-quoted display name from suricata__sip_compact_form.pcap.
  const odd = parseNameAddr('\\"arik\\" <sip:816666@voip.brurjula.net>;tag=6433ef9');
  assert.equal(odd?.uri?.user, "816666");
  assert.equal(odd?.tag, "6433ef9");
});

Deno.test("structurally broken values give null", () => {
  assert.equal(parseNameAddr(""), null);
  assert.equal(parseNameAddr("   "), null);
  assert.equal(parseNameAddr('"unterminated <sip:a@b>'), null);
  assert.equal(parseNameAddr("<sip:voi18063@sip.cybercity.dk.;tag=00-04092"), null);
  assert.equal(parseNameAddr('"name" sip:a@b'), null);
});

Deno.test("values parsed again, after many others and hostile ones, give the same answers", () => {
  const values = Array.from(
    { length: 1500 },
    (_, i) => `"User ${i}" <sip:${1000 + i}@10.0.${i >> 8}.${i & 255}>;tag=t${i}`,
  );
  values.push("__proto__", "<sip:constructor@host>;__proto__=1", "", "<sip:a@b");
  const first = values.map((v) =>
    JSON.stringify(parseNameAddr(v), (_, x) => x instanceof Map ? [...x] : x)
  );
  for (let round = 0; round < 2; round++) {
    values.forEach((v, i) => {
      const again = JSON.stringify(parseNameAddr(v), (_, x) => x instanceof Map ? [...x] : x);
      assert.equal(again, first[i], v);
    });
  }
  assert.equal(parseNameAddr(values[7]!)?.uri?.user, "1007");
  assert.equal(parseNameAddr(values[7]!)?.tag, "t7");
  assert.equal(parseNameAddr("<sip:a@b"), null);
});
