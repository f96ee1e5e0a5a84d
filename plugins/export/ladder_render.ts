/**
 * Renders a call-flow (ladder) diagram: one column per signalling address,
 * an arrow per SIP message in time order (method, or status and reason;
 * CSeq; time offset from the call's start; SDP and its direction), hold
 * intervals as shaded bands across the held leg's columns, and the RTP
 * streams as a summary band (codec, packets, loss). The output is a
 * self-contained HTML page with inline SVG (no script, no external asset,
 * and a Content-Security-Policy that forbids both), or a standalone SVG.
 * Every text from the wire is escaped; the output is well-formed XML.
 *
 * @module
 */

import type { HoldInterval } from "../../engine/calls/leg.ts";
import { isoTime } from "./serialize.ts";

/** One SIP message, summarized. */
export interface LadderMessage {
  /** Capture time. */
  ts: number;
  /** Sender, `ip:port` (`[ip]:port` for IPv6). */
  src: string;
  /** Receiver. */
  dst: string;
  /** Method, or status and reason. */
  label: string;
  /** `CSeq` value (`1 INVITE`), or empty. */
  cseq: string;
  /** SDP note (`SDP`, `SDP sendonly`), or empty. */
  sdp: string;
  /** Whether it is a request. */
  request: boolean;
}

/** One RTP stream, summarized. */
export interface LadderStream {
  /** Sender, `ip:port`. */
  src: string;
  /** Receiver. */
  dst: string;
  /** Codecs seen. */
  codecs: string[];
  /** Packets received. */
  packets: number;
  /** Packets lost. */
  lost: number;
  /** Loss in percent. */
  lossPercent: number;
  /** First and last packet. */
  firstTs: number;
  /** Last packet. */
  lastTs: number;
  /** `caller-to-callee` or `callee-to-caller`. */
  direction: string | null;
}

/** One leg of the diagram. */
export interface LadderLeg {
  /** Leg id. */
  id: string;
  /** Caller-side signalling address. */
  callerAddress: string;
  /** Callee-side signalling address. */
  calleeAddress: string;
  /** Who is on the caller side (a number), or `null`. */
  callerParty: string | null;
  /** Who is on the callee side, or `null`. */
  calleeParty: string | null;
  /** Display name of the wire caller (From), or `null`. */
  callerName: string | null;
  /** Display name of the wire callee (To), or `null`. */
  calleeName: string | null;
  /** User-Agent / Server of each side, when seen. */
  userAgents: { caller: string | null; callee: string | null };
  /** Final state. */
  state: string;
  /** Relations to other legs (`picked-up-from`), for the legend. */
  relations: string[];
  /** Hold intervals. */
  holds: HoldInterval[];
  /** Messages, in the order seen. */
  messages: LadderMessage[];
  /** Messages left out past the per-leg cap. */
  dropped: number;
  /** RTP streams. */
  streams: LadderStream[];
}

/** Everything a diagram shows. */
export interface LadderCall {
  /** Logical call id or leg id. */
  id: string;
  /** Scenarios (empty without rules). */
  scenarios: string[];
  /** Real caller, or `null`. */
  caller: string | null;
  /** Real callee, or `null`. */
  callee: string | null;
  /** Start of the call. */
  startTs: number;
  /** Legs, in start order. */
  legs: LadderLeg[];
  /** Addresses of the site's servers (labelled as such). */
  servers: readonly string[];
}

/**
 * Escapes text for XML and HTML content and attribute values.
 *
 * @param text Any text (from the wire).
 * @returns The text with `& < > " '` escaped and control characters other than tab and newline dropped.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(escapeXml(`<script>"x"&'y'</script>`), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;");
 * ```
 */
export function escapeXml(text: string): string {
  return text
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/g, "")
    .replace(/[&<>"']/g, (c) => XML_ENTITIES.get(c)!);
}

const XML_ENTITIES: ReadonlyMap<string, string> = new Map([
  ["&", "&amp;"],
  ["<", "&lt;"],
  [">", "&gt;"],
  ['"', "&quot;"],
  ["'", "&#39;"],
]);

/** Cuts a label to a length, with an ellipsis. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const COLUMN_WIDTH = 230;
const LEFT = 120;
const TOP = 96;
const ROW = 34;
const LEG_COLORS = ["#1f5fa8", "#b5461c", "#2e7d32", "#7b3fa0", "#a07800", "#00838f"];

interface Row {
  ts: number;
  order: number;
  kind: "message" | "hold" | "resume";
  leg: number;
  message?: LadderMessage;
  text?: string;
}

interface Layout {
  columns: string[];
  labels: Map<string, string[]>;
  rows: Row[];
  width: number;
  height: number;
  streamsTop: number;
}

function layout(call: LadderCall): Layout {
  const columns: string[] = [];
  const labels = new Map<string, string[]>();
  const addColumn = (address: string) => {
    if (!labels.has(address)) {
      labels.set(address, []);
      columns.push(address);
    }
  };
  const addLabel = (address: string, party: string | null) => {
    addColumn(address);
    const list = labels.get(address)!;
    if (party !== null && !list.includes(party) && list.length < 4) list.push(party);
  };
  const rows: Row[] = [];
  let order = 0;
  call.legs.forEach((leg, i) => {
    addLabel(leg.callerAddress, leg.callerParty);
    addLabel(leg.calleeAddress, leg.calleeParty);
    for (const m of leg.messages) {
      rows.push({ ts: m.ts, order: order++, kind: "message", leg: i, message: m });
    }
    for (const h of leg.holds) {
      const how = `${h.by} ${h.how}`;
      rows.push({ ts: h.start, order: order++, kind: "hold", leg: i, text: `hold (${how})` });
      if (h.end !== null) {
        rows.push({
          ts: h.end,
          order: order++,
          kind: "resume",
          leg: i,
          text: h.resumed ? "resumed" : "hold ends (call ended)",
        });
      }
    }
  });
  rows.sort((a, b) => a.ts - b.ts || a.order - b.order);
  for (const row of rows) {
    if (row.message) {
      addColumn(row.message.src);
      addColumn(row.message.dst);
    }
  }
  const streamCount = call.legs.reduce((n, l) => n + l.streams.length, 0);
  const longest = Math.max(
    0,
    ...call.legs.flatMap((l) => l.streams.map((st) => streamText(st, call.startTs).length)),
  );
  // About 6.8 px per character of the 12 px sans-serif text, so the RTP band fits.
  const width = Math.ceil(
    Math.max(LEFT + Math.max(columns.length, 2) * COLUMN_WIDTH, 24 + longest * 6.8),
  );
  const streamsTop = TOP + (rows.length + 1) * ROW;
  const height = streamsTop + 40 + Math.max(streamCount, 1) * 22 + 20;
  return { columns, labels, rows, width, height, streamsTop };
}

/** The site's servers, and in a call of several legs the hosts present in every leg. */
function serverHosts(call: LadderCall): Set<string> {
  const servers = new Set(call.servers);
  if (call.legs.length > 1) {
    const hostsOf = (leg: LadderLeg) =>
      new Set([hostOf(leg.callerAddress), hostOf(leg.calleeAddress)]);
    const [first, ...rest] = call.legs.map(hostsOf);
    for (const host of first ?? []) if (rest.every((set) => set.has(host))) servers.add(host);
  }
  return servers;
}

/** The host of an `ip:port` or `[ip]:port` address. */
function hostOf(address: string): string {
  return address.startsWith("[") ? address.slice(1, address.indexOf("]")) : address.split(":")[0]!;
}

/** The line of an RTP stream in the band. */
function streamText(s: LadderStream, start: number): string {
  return `${s.src} → ${s.dst} · ${s.codecs.join("/") || "?"} · ${s.packets} packets · ` +
    `lost ${s.lost} (${s.lossPercent.toFixed(1)}%) · ${offset(s.firstTs, start)} … ${
      offset(s.lastTs, start)
    }`;
}

function columnX(l: Layout, address: string): number {
  const i = l.columns.indexOf(address);
  return LEFT + (i < 0 ? 0 : i) * COLUMN_WIDTH + COLUMN_WIDTH / 2;
}

function offset(ts: number, start: number): string {
  const d = ts - start;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(3)} s`;
}

/**
 * Renders the diagram as an SVG element (no XML declaration).
 *
 * @param call The call.
 * @returns The `<svg>` text.
 */
export function renderLadderSvg(call: LadderCall): string {
  const l = layout(call);
  const e = escapeXml;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<title>${e(`Call flow of ${call.id}`)}</title>`);
  out.push(
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#445566"/></marker></defs>`,
  );
  out.push(`<rect x="0" y="0" width="${l.width}" height="${l.height}" fill="#ffffff"/>`);
  // Columns: address and who is there.
  const servers = serverHosts(call);
  const lifelineBottom = l.streamsTop - 10;
  for (const address of l.columns) {
    const x = columnX(l, address);
    const parties = l.labels.get(address) ?? [];
    const title = servers.has(hostOf(address))
      ? `server${parties.length > 0 ? ` (${parties.join(", ")})` : ""}`
      : parties.join(", ");
    out.push(`<g class="column">`);
    out.push(
      `<rect x="${
        x - 100
      }" y="20" width="200" height="44" rx="6" fill="#eef2f7" stroke="#8a9bb0"/>`,
    );
    out.push(
      `<text x="${x}" y="38" text-anchor="middle" font-weight="bold">${
        e(cut(title || "—", 30))
      }</text>`,
    );
    out.push(
      `<text x="${x}" y="56" text-anchor="middle" fill="#445">${e(cut(address, 34))}</text>`,
    );
    out.push(
      `<line x1="${x}" y1="64" x2="${x}" y2="${lifelineBottom}" stroke="#9aa7b8" stroke-dasharray="4 4"/>`,
    );
    out.push(`</g>`);
  }
  // Hold bands, drawn first so the arrows stay on top.
  call.legs.forEach((leg, i) => {
    for (const h of leg.holds) {
      const startRow = l.rows.findIndex((r) =>
        r.kind === "hold" && r.leg === i && r.ts === h.start
      );
      const endRow = h.end === null
        ? l.rows.length
        : l.rows.findIndex((r) => r.kind === "resume" && r.leg === i && r.ts === h.end);
      if (startRow < 0) continue;
      const y1 = TOP + startRow * ROW;
      const y2 = TOP + (endRow < 0 ? l.rows.length : endRow) * ROW;
      const xa = columnX(l, leg.callerAddress);
      const xb = columnX(l, leg.calleeAddress);
      const x = Math.min(xa, xb) - 20;
      const w = Math.abs(xb - xa) + 40;
      out.push(
        `<rect class="hold" x="${x}" y="${y1}" width="${w}" height="${
          Math.max(y2 - y1, 4)
        }" fill="#f6c343" fill-opacity="0.25" stroke="#d9a300" stroke-dasharray="2 3"/>`,
      );
    }
  });
  // Rows: messages and hold markers.
  l.rows.forEach((row, index) => {
    const y = TOP + index * ROW + ROW / 2;
    const color = LEG_COLORS[row.leg % LEG_COLORS.length]!;
    out.push(
      `<text x="8" y="${y + 4}" fill="#556">${e(offset(row.ts, call.startTs))}</text>`,
    );
    if (row.kind !== "message" || !row.message) {
      const leg = call.legs[row.leg]!;
      const x = (columnX(l, leg.callerAddress) + columnX(l, leg.calleeAddress)) / 2;
      out.push(
        `<text class="marker" x="${x}" y="${
          y + 4
        }" text-anchor="middle" font-style="italic" fill="#8a6d00">${e(row.text ?? "")}</text>`,
      );
      return;
    }
    const m = row.message;
    const x1 = columnX(l, m.src);
    const x2 = columnX(l, m.dst);
    const mid = (x1 + x2) / 2;
    const text = [m.label, m.cseq ? `(${m.cseq})` : "", m.sdp].filter((s) => s !== "").join(" ");
    out.push(`<g class="msg">`);
    if (x1 === x2) {
      out.push(
        `<path d="M${x1},${
          y - 6
        } h40 v12 h-40" fill="none" stroke="${color}" stroke-width="1.5" marker-end="url(#arrow)"/>`,
      );
    } else {
      out.push(
        `<line x1="${x1}" y1="${y + 6}" x2="${x2}" y2="${
          y + 6
        }" stroke="${color}" stroke-width="1.5"${
          m.request ? "" : ' stroke-dasharray="6 3"'
        } marker-end="url(#arrow)"/>`,
      );
    }
    out.push(
      `<text x="${mid}" y="${y}" text-anchor="middle" fill="${color}">${e(cut(text, 60))}</text>`,
    );
    out.push(`</g>`);
  });
  // RTP streams band.
  const top = l.streamsTop;
  out.push(
    `<rect x="4" y="${top}" width="${l.width - 8}" height="${
      l.height - top - 4
    }" fill="#f3f7f0" stroke="#b7c9a8"/>`,
  );
  out.push(`<text x="12" y="${top + 20}" font-weight="bold">RTP streams</text>`);
  let n = 0;
  call.legs.forEach((leg, i) => {
    const color = LEG_COLORS[i % LEG_COLORS.length]!;
    for (const s of leg.streams) {
      const y = top + 42 + n * 22;
      const text = streamText(s, call.startTs);
      out.push(`<text class="stream" x="12" y="${y}" fill="${color}">${e(text)}</text>`);
      n++;
    }
  });
  if (n === 0) out.push(`<text x="12" y="${top + 42}" fill="#667">none</text>`);
  out.push(`</svg>`);
  return out.join("\n");
}

/**
 * Renders the diagram as a self-contained HTML page: a heading, the SVG,
 * and a table of the legs and of every message.
 *
 * @param call The call.
 * @returns The HTML text (also well-formed XML).
 */
export function renderLadderHtml(call: LadderCall): string {
  const e = escapeXml;
  const title = `Call flow ${call.id}`;
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html>`);
  parts.push(`<html lang="en">`);
  parts.push(`<head>`);
  parts.push(`<meta charset="utf-8"/>`);
  parts.push(
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"/>`,
  );
  parts.push(`<title>${e(title)}</title>`);
  parts.push(
    `<style>body{font-family:sans-serif;margin:16px;color:#223}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccd;padding:2px 6px;font-size:12px;text-align:left}th{background:#eef2f7}.svg{overflow-x:auto}</style>`,
  );
  parts.push(`</head>`);
  parts.push(`<body>`);
  parts.push(`<h1>${e(title)}</h1>`);
  const facts = [
    ["Scenario", call.scenarios.join(", ") || "—"],
    ["Caller", call.caller ?? "—"],
    ["Callee", call.callee ?? "—"],
    ["Start (UTC)", isoTime(call.startTs) ?? "—"],
  ];
  parts.push(`<p>${facts.map(([k, v]) => `<b>${e(k!)}:</b> ${e(v!)}`).join(" &#160; ")}</p>`);
  parts.push(`<div class="svg">`);
  parts.push(renderLadderSvg(call));
  parts.push(`</div>`);
  parts.push(`<h2>Legs</h2>`);
  parts.push(
    `<table><tr><th></th><th>leg</th><th>caller</th><th>callee</th><th>state</th><th>relations</th><th>user agents</th><th>messages</th></tr>`,
  );
  const side = (party: string | null, name: string | null, address: string) =>
    `${party ?? "?"}${name !== null ? ` "${name}"` : ""} (${address})`;
  call.legs.forEach((leg, i) => {
    const color = LEG_COLORS[i % LEG_COLORS.length]!;
    const cells = [
      leg.id,
      side(leg.callerParty, leg.callerName, leg.callerAddress),
      side(leg.calleeParty, leg.calleeName, leg.calleeAddress),
      leg.state,
      leg.relations.join(", "),
      [leg.userAgents.caller, leg.userAgents.callee].filter((a) => a !== null).join(" / "),
      String(leg.messages.length + leg.dropped) +
      (leg.dropped > 0 ? ` (${leg.dropped} not shown)` : ""),
    ];
    parts.push(
      `<tr class="leg"><td style="color:${color}">&#9679;</td>${
        cells.map((c) => `<td>${e(c)}</td>`).join("")
      }</tr>`,
    );
  });
  parts.push(`</table>`);
  parts.push(`<h2>Messages</h2>`);
  parts.push(
    `<table class="messages"><tr><th>time</th><th>from</th><th>to</th><th>message</th><th>CSeq</th><th>SDP</th><th>leg</th></tr>`,
  );
  const all = call.legs.flatMap((leg) => leg.messages.map((m) => ({ m, leg: leg.id })));
  all.sort((a, b) => a.m.ts - b.m.ts);
  for (const { m, leg } of all) {
    const cells = [offset(m.ts, call.startTs), m.src, m.dst, m.label, m.cseq, m.sdp, leg];
    parts.push(`<tr class="message">${cells.map((c) => `<td>${e(c)}</td>`).join("")}</tr>`);
  }
  parts.push(`</table>`);
  parts.push(`</body>`);
  parts.push(`</html>`);
  return parts.join("\n") + "\n";
}

/**
 * Renders the diagram as a standalone SVG file.
 *
 * @param call The call.
 * @returns The SVG document, with an XML declaration.
 */
export function renderLadderSvgDocument(call: LadderCall): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderLadderSvg(call)}\n`;
}
