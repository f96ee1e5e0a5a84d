import assert from "node:assert/strict";
import { targetUser } from "./views.ts";

Deno.test("targetUser reads what /^[a-z]+:([^@;?]+)@/i captures", () => {
  const pattern = /^[a-z]+:([^@;?]+)@/i;
  const uris = [
    "sip:1001@10.0.0.1",
    "SIPS:alice@example.com;transport=tls",
    "tel:+821077141436",
    "sip:*8@pbx",
    "sip:@host",
    "sip:user;x=1@host",
    "sip:user?h=1@host",
    ":user@host",
    "s1p:user@host",
    "sip:user",
    "",
    "sip:a@b@c",
    "sip:%23@h",
  ];
  for (const uri of uris) assert.equal(targetUser(uri), pattern.exec(uri)?.[1] ?? null, uri);
});
