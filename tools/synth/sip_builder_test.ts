import assert from "node:assert/strict";
import { SeededRandom } from "./random.ts";
import {
  buildSdp,
  type DialogParty,
  digestCredentials,
  digestResponse,
  formatSipMessage,
  getHeader,
  SipDialog,
  type SipDraft,
  sipfragBody,
} from "./sip_builder.ts";

const SERVER: DialogParty = {
  uri: "sip:01077141436@112.222.225.104",
  displayName: "01077141436",
  tag: "srv-tag",
  contact: "sip:01077141436@112.222.225.104:5060",
  host: "112.222.225.104",
  port: 5060,
  server: "test-b2bua",
  cseq: 102,
};
const PHONE: DialogParty = {
  uri: "sip:109Q1427@192.168.0.55:5060",
  tag: "phone-tag",
  contact: "sip:109Q1427@192.168.0.55:5060",
  host: "192.168.0.55",
  port: 5060,
  rport: true,
  userAgent: "test-phone",
  allow: "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY",
  cseq: 7,
};

function branchOf(message: SipDraft): string {
  return /;branch=([^;]+)/.exec(getHeader(message, "Via") ?? "")?.[1] ?? "";
}

function header(message: SipDraft, name: string): string {
  const value = getHeader(message, name);
  assert.ok(value !== undefined, `no ${name} header`);
  return value;
}

Deno.test("Content-Length counts UTF-8 bytes of the body", () => {
  const sdp = buildSdp({
    sessionId: 1,
    sessionVersion: 1,
    address: "10.0.0.1",
    port: 4000,
    sessionName: "통화",
  });
  const text = formatSipMessage({
    kind: "request",
    method: "INVITE",
    uri: "sip:a@b",
    headers: [["Content-Type", "application/sdp"]],
    body: sdp,
  });
  const length = Number(/Content-Length: (\d+)/.exec(text)?.[1]);
  assert.equal(length, new TextEncoder().encode(sdp).length);
  assert.notEqual(length, sdp.length);
  const separator = text.indexOf("\r\n\r\n");
  assert.equal(text.slice(separator + 4), sdp);
});

Deno.test("an answered INVITE dialog keeps tags, CSeq and targets consistent", () => {
  const dialog = new SipDialog({
    callId: "abc@112.222.225.77",
    caller: SERVER,
    callee: PHONE,
    random: new SeededRandom("t1"),
  });
  const invite = dialog.invite({ body: "v=0\r\n" });
  assert.equal(invite.uri, "sip:109Q1427@192.168.0.55:5060");
  assert.equal(header(invite, "To"), "<sip:109Q1427@192.168.0.55:5060>");
  assert.equal(
    header(invite, "From"),
    '"01077141436" <sip:01077141436@112.222.225.104>;tag=srv-tag',
  );
  assert.equal(header(invite, "CSeq"), "102 INVITE");
  assert.equal(header(invite, "Content-Type"), "application/sdp");
  assert.equal(dialog.established, false);

  const trying = dialog.respond(invite, 100);
  assert.equal(header(trying, "To"), "<sip:109Q1427@192.168.0.55:5060>");
  assert.equal(getHeader(trying, "Contact"), undefined);
  assert.equal(header(trying, "User-Agent"), "test-phone");
  const ringing = dialog.respond(invite, 180);
  assert.equal(header(ringing, "To"), "<sip:109Q1427@192.168.0.55:5060>;tag=phone-tag");
  assert.equal(header(ringing, "Contact"), "<sip:109Q1427@192.168.0.55:5060>");
  assert.equal(dialog.established, true);
  const ok = dialog.respond(invite, 200, { body: "v=0\r\n" });
  assert.equal(header(ok, "CSeq"), "102 INVITE");
  assert.equal(header(ok, "Via"), header(invite, "Via"));
  assert.equal(header(ok, "Allow"), PHONE.allow);
  assert.equal(dialog.senderOf(ok), "callee");

  const ack = dialog.ack(invite, ok);
  assert.equal(ack.uri, PHONE.contact);
  assert.equal(header(ack, "CSeq"), "102 ACK");
  assert.equal(header(ack, "To"), header(ok, "To"));
  assert.notEqual(branchOf(ack), branchOf(invite));

  // The phone holds: a re-INVITE from the callee side, with its own CSeq space.
  const hold = dialog.request("callee", "INVITE", { body: "v=0\r\n" });
  assert.equal(hold.uri, SERVER.contact);
  assert.equal(header(hold, "CSeq"), "7 INVITE");
  assert.equal(header(hold, "From"), "<sip:109Q1427@192.168.0.55:5060>;tag=phone-tag");
  assert.equal(header(hold, "To"), '"01077141436" <sip:01077141436@112.222.225.104>;tag=srv-tag');
  assert.match(header(hold, "Via"), /;rport$/);
  const holdOk = dialog.respond(hold, 200);
  assert.match(header(holdOk, "Via"), /;received=192\.168\.0\.55;rport=5060$/);
  assert.equal(header(holdOk, "Server"), "test-b2bua");
  const holdAck = dialog.ack(hold, holdOk);
  assert.equal(header(holdAck, "CSeq"), "7 ACK");
  assert.equal(holdAck.uri, SERVER.contact);

  const bye = dialog.request("callee", "BYE");
  assert.equal(header(bye, "CSeq"), "8 BYE");
  assert.equal(getHeader(bye, "Contact"), undefined);
  const byeOk = dialog.respond(bye, 200);
  assert.equal(header(byeOk, "CSeq"), "8 BYE");
  const branches = [invite, ack, hold, holdAck, bye].map(branchOf);
  assert.equal(new Set(branches).size, branches.length);
  for (const m of [invite, trying, ok, ack, hold, bye, byeOk]) {
    assert.equal(header(m, "Call-ID"), "abc@112.222.225.77");
  }
});

Deno.test("a challenged INVITE is ACKed in its transaction and re-sent with credentials", () => {
  const phone: DialogParty = { ...PHONE, uri: "sip:109Q1428@112.222.225.104", cseq: 1 };
  const server: DialogParty = {
    ...SERVER,
    uri: "sip:*8@112.222.225.104",
    displayName: undefined,
    contact: "sip:*8@112.222.225.104:5060",
  };
  const dialog = new SipDialog({
    callId: "p@192.168.0.54",
    caller: phone,
    callee: server,
    requestUri: "sip:*8@112.222.225.104:5060",
    random: new SeededRandom("t2"),
  });
  const invite = dialog.invite({ headers: [["X-xfer-pressed", "True"]], body: "v=0\r\n" });
  assert.equal(invite.uri, "sip:*8@112.222.225.104:5060");
  const challenge = { realm: "112.222.225.104", nonce: "n0nce" };
  const denied = dialog.respond(invite, 407, {
    toTag: "auth-tag",
    headers: [["Proxy-Authenticate", `Digest realm="${challenge.realm}", nonce="n0nce"`]],
  });
  assert.equal(dialog.established, false);
  const ack = dialog.ack(invite, denied);
  assert.equal(branchOf(ack), branchOf(invite));
  assert.equal(ack.uri, invite.uri);
  assert.equal(header(ack, "CSeq"), "1 ACK");
  assert.match(header(ack, "To"), /;tag=auth-tag$/);

  const credentials = digestCredentials({
    username: "109Q1428",
    password: "secret",
    challenge,
    method: "INVITE",
    uri: invite.uri,
  });
  const again = dialog.resend(invite, { headers: [["Proxy-Authorization", credentials]] });
  assert.equal(header(again, "CSeq"), "2 INVITE");
  assert.notEqual(branchOf(again), branchOf(invite));
  assert.equal(header(again, "To"), "<sip:*8@112.222.225.104>");
  assert.equal(header(again, "X-xfer-pressed"), "True");
  assert.equal(again.body, invite.body);
  const names = again.headers.map(([n]) => n);
  assert.ok(names.indexOf("Proxy-Authorization") < names.indexOf("User-Agent"));
  const expected = digestResponse({
    username: "109Q1428",
    password: "secret",
    challenge,
    method: "INVITE",
    uri: invite.uri,
  });
  assert.match(credentials, new RegExp(`response="${expected}"`));
  assert.match(expected, /^[0-9a-f]{32}$/);

  const cancel = dialog.cancel(again);
  assert.equal(branchOf(cancel), branchOf(again));
  assert.equal(header(cancel, "CSeq"), "2 CANCEL");
  assert.equal(cancel.uri, again.uri);
  assert.equal(header(cancel, "To"), header(again, "To"));
  const cancelOk = dialog.respond(cancel, 200);
  assert.equal(header(cancelOk, "CSeq"), "2 CANCEL");
  const terminated = dialog.respond(again, 487);
  assert.match(header(terminated, "To"), /;tag=srv-tag$/);
  assert.equal(dialog.ack(again, terminated).headers.find(([n]) => n === "CSeq")?.[1], "2 ACK");
});

Deno.test("digest response without qop follows RFC 2069", () => {
  // MD5(MD5("u:r:p") ":n:" MD5("REGISTER:sip:r")), computed independently with Python's hashlib.
  const response = digestResponse({
    username: "u",
    password: "p",
    challenge: { realm: "r", nonce: "n" },
    method: "REGISTER",
    uri: "sip:r",
  });
  assert.equal(response, "5790559ba44538767b07fb5adb649909");
});

Deno.test("sipfrag and SDP direction", () => {
  assert.equal(sipfragBody(200), "SIP/2.0 200 OK\r\n");
  const sdp = buildSdp({
    sessionId: "42",
    sessionVersion: 3,
    address: "2001:db8::1",
    port: 0,
    payloadTypes: [8],
    telephoneEvent: null,
    direction: "inactive",
  });
  assert.equal(
    sdp,
    "v=0\r\no=- 42 3 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n" +
      "m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\na=inactive\r\n",
  );
});
