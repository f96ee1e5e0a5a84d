import assert from "node:assert/strict";
import {
  escapeXml,
  type LadderCall,
  renderLadderHtml,
  renderLadderSvgDocument,
} from "./ladder_render.ts";
import { checkWellFormed } from "./testing_formats.ts";

function call(overrides: Partial<LadderCall> = {}): LadderCall {
  const t0 = 1_700_000_000;
  return {
    id: "lc:abc",
    scenarios: ["transfer"],
    caller: "01077141436",
    callee: "1428",
    startTs: t0,
    servers: [],
    legs: [{
      id: "abc",
      callerAddress: "10.0.0.1:5060",
      calleeAddress: "[2001:db8::2]:5060",
      callerParty: "01077141436",
      calleeParty: "1427",
      callerName: null,
      calleeName: "B & <b>",
      userAgents: { caller: null, callee: "phone" },
      state: "ended",
      relations: [],
      holds: [{ by: "callee", start: t0 + 2, end: t0 + 3, resumed: true, how: "sendonly" }],
      messages: [
        {
          ts: t0,
          src: "10.0.0.1:5060",
          dst: "[2001:db8::2]:5060",
          label: "INVITE",
          cseq: "1 INVITE",
          sdp: "SDP",
          request: true,
        },
        {
          ts: t0 + 1,
          src: "[2001:db8::2]:5060",
          dst: "10.0.0.1:5060",
          label: "200 OK <i>",
          cseq: "1 INVITE",
          sdp: "",
          request: false,
        },
        {
          ts: t0 + 2,
          src: "[2001:db8::2]:5060",
          dst: "[2001:db8::2]:5060",
          label: "OPTIONS",
          cseq: "2 OPTIONS",
          sdp: "",
          request: true,
        },
      ],
      dropped: 0,
      streams: [{
        src: "10.0.0.1:4000",
        dst: "[2001:db8::2]:5000",
        codecs: ["PCMA"],
        packets: 250,
        lost: 2,
        lossPercent: 0.8,
        firstTs: t0 + 1,
        lastTs: t0 + 6,
        direction: "caller-to-callee",
      }],
    }],
    ...overrides,
  };
}

Deno.test("ladder: HTML and SVG are well-formed, with an arrow per message, hold bands and the RTP band", () => {
  const c = call();
  const html = renderLadderHtml(c);
  assert.ok(html.startsWith("<!DOCTYPE html>\n<html"));
  const elements = checkWellFormed(html);
  const groups = elements.filter((e) =>
    e.name === "g" && e.attributes.some(([k, v]) => k === "class" && v === "msg")
  );
  assert.equal(groups.length, 3);
  const rows = elements.filter((e) =>
    e.name === "tr" && e.attributes.some(([, v]) => v === "message")
  );
  assert.equal(rows.length, 3);
  assert.equal(
    elements.filter((e) => e.name === "rect" && e.attributes.some(([, v]) => v === "hold")).length,
    1,
  );
  const texts = elements.filter((e) => e.name === "text").map((e) => e.text);
  assert.ok(texts.includes("200 OK <i> (1 INVITE)"), "label decoded back to the original text");
  assert.ok(texts.some((t) => t.includes("PCMA · 250 packets · lost 2 (0.8%)")));
  assert.ok(texts.includes("hold (callee sendonly)"));
  assert.ok(texts.includes("+1.000 s"));
  assert.ok(!html.includes("<i>"), "markup from the wire must be escaped");
  assert.ok(html.includes("1427 &quot;B &amp; &lt;b&gt;&quot; ([2001:db8::2]:5060)"));
  assert.ok(!/<script/i.test(html));
  const svg = renderLadderSvgDocument(c);
  assert.ok(
    svg.startsWith(
      '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"',
    ),
  );
  assert.equal(
    checkWellFormed(svg).filter((e) => e.name === "g" && e.attributes[0]?.[1] === "msg").length,
    3,
  );
});

Deno.test("ladder: escapeXml removes what XML cannot hold and escapes the rest", () => {
  assert.equal(escapeXml("a\u0000b\u0007c\td\n"), "abc\td\n");
  assert.equal(escapeXml("&amp;"), "&amp;amp;");
  assert.deepEqual(
    checkWellFormed(`<p title="${escapeXml(`"'<>&`)}">${escapeXml("</p><p>")}</p>`)[0],
    {
      name: "p",
      attributes: [["title", `"'<>&`]],
      text: "</p><p>",
    },
  );
});
