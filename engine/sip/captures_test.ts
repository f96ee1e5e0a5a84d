/**
 * Every SIP message tshark decodes in ../shared/captures goes through the
 * parser, the content detector and the SDP summary, and the fields are
 * compared with tshark's own. TCP streams are cut into messages by
 * `sipMessageLength` and counted against tshark. Needs tshark; skipped
 * without it.
 */

import { toolWorks } from "../../tests/support/tools.ts";
import assert from "node:assert/strict";
import { looksLikeSip } from "./detect.ts";
import { sipMessageLength, skipKeepAlive } from "./framing.ts";
import { parseSipMessage } from "./parse.ts";
import { sdpFromMessage } from "./sdp.ts";
import type { SipMessage } from "./types.ts";

const CAPTURES = new URL("../../../shared/captures/", import.meta.url);

interface ManifestRow {
  file: string;
  sipMessages: number;
  features: string[];
}

function readManifest(): ManifestRow[] {
  try {
    const text = Deno.readTextFileSync(new URL("MANIFEST.tsv", CAPTURES));
    const [head = "", ...rows] = text.trim().split("\n");
    const columns = head.split("\t");
    const at = (name: string): number => columns.indexOf(name);
    return rows.map((row) => {
      const cells = row.split("\t");
      return {
        file: cells[at("file")] ?? "",
        sipMessages: Number(cells[at("sip_messages")]),
        features: (cells[at("features")] ?? "").split(","),
      };
    });
  } catch {
    return [];
  }
}

const HAS_TSHARK = toolWorks("tshark");
const MANIFEST = readManifest();
if (!HAS_TSHARK) console.log("captures_test: tshark not found, skipping the capture tests");
if (MANIFEST.length === 0) console.log("captures_test: ../shared/captures not found, skipping");

async function tshark(args: string[]): Promise<string> {
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "null" }).output();
  assert.ok(out.success, `tshark ${args.join(" ")}`);
  return new TextDecoder().decode(out.stdout);
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function asList(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** First value of a tshark field anywhere under `node`, not descending into `skip`. */
function field(node: Json | undefined, key: string, skip = "sip.msg_body"): string | undefined {
  if (node === null || node === undefined || typeof node !== "object") return undefined;
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = field(item, key, skip);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === skip) continue;
    if (k === key) {
      const first = asList(v)[0];
      if (typeof first === "string") return first;
    }
    const found = field(v, key, skip);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Every value of a tshark field under `node`, in document order. */
function fields(node: Json | undefined, key: string, out: string[] = []): string[] {
  if (node === null || node === undefined || typeof node !== "object") return out;
  if (Array.isArray(node)) {
    for (const item of node) fields(item, key, out);
    return out;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === key) {
      for (const item of asList(v)) {
        if (typeof item === "string") out.push(item);
        else fields(v, key, out);
      }
    }
  }
  return out;
}

/** The differences between our reading of a message and tshark's. */
function compare(message: SipMessage, tree: Json): string[] {
  const diffs: string[] = [];
  const check = (name: string, ours: string | null | undefined, theirs: string | undefined) => {
    if (theirs !== undefined && (ours ?? undefined) !== theirs) {
      diffs.push(`${name}: ours ${JSON.stringify(ours)}, tshark ${JSON.stringify(theirs)}`);
    }
  };
  if (message.kind === "request") {
    check("method", message.method, field(tree, "sip.Method"));
    const user = field(tree, "sip.r-uri.user");
    if (user !== undefined && !user.includes("%")) {
      check("r-uri user", message.requestUri?.user, user);
    }
  } else {
    check("status", String(message.status), field(tree, "sip.Status-Code"));
  }
  check("call-id", message.callId, field(tree, "sip.Call-ID")?.trim());
  check(
    "cseq",
    message.cseq === null ? null : String(message.cseq.seq),
    field(tree, "sip.CSeq.seq"),
  );
  check("cseq method", message.cseq?.method, field(tree, "sip.CSeq.method"));
  check("from tag", message.from?.tag, field(tree, "sip.from.tag"));
  check("to tag", message.to?.tag, field(tree, "sip.to.tag"));
  check("via branch", message.vias[0]?.branch, field(tree, "sip.Via.branch"));
  const body = typeof tree === "object" && tree !== null && !Array.isArray(tree)
    ? tree["sip.msg_body"]
    : undefined;
  const ports = fields(body, "sdp.media.port");
  if (ports.length > 0) {
    const sdp = sdpFromMessage(message);
    const ours = sdp?.media.map((m) => String(m.port)).join(",");
    check("sdp ports", ours, ports.join(","));
  }
  return diffs;
}

/** The number N of a `feature(N)` entry, or 0. */
function featureCount(features: string[], name: string): number {
  for (const f of features) {
    if (f === name) return 1;
    const match = /^(.*)\((\d+)\)$/.exec(f);
    if (match?.[1] === name) return Number(match[2]);
  }
  return 0;
}

for (const row of MANIFEST) {
  Deno.test({
    name: `captures: ${row.file}: every SIP message tshark decodes`,
    ignore: !HAS_TSHARK,
    fn: async () => {
      const path = new URL(row.file, CAPTURES).pathname;
      const packets = JSON.parse(
        await tshark(["-r", path, "-Y", "sip", "-T", "json", "-x", "--no-duplicate-keys"]),
      ) as Json[];
      const malformed = featureCount(row.features, "malformed-SIP/SDP");
      let count = 0;
      const failures: string[] = [];
      const diffs: string[] = [];
      for (const packet of packets) {
        const layers = (packet as { _source: { layers: Record<string, Json> } })._source.layers;
        const raws = asList(layers["sip_raw"]);
        // One message: [hex, offset, length, ...]; several: a list of those.
        const hexes = typeof raws[0] === "string" ? [raws[0]] : raws.map((r) => asList(r)[0]);
        const trees = asList(layers["sip"]);
        hexes.forEach((hex, i) => {
          if (typeof hex !== "string") return;
          count++;
          const bytes = fromHex(hex);
          const frame = field(layers["frame"], "frame.number");
          const result = parseSipMessage(bytes);
          if (!result.ok) {
            assert.match(result.reason, /^sip\./);
            assert.notEqual(result.reason, "sip.parser-error", `frame ${frame}`);
            failures.push(`frame ${frame}: ${result.reason}`);
            return;
          }
          assert.ok(looksLikeSip(bytes, 0, bytes.length), `frame ${frame}: not detected`);
          for (const diff of compare(result.message, trees[i] ?? null)) {
            diffs.push(`frame ${frame}: ${diff}`);
          }
        });
      }
      assert.equal(count, row.sipMessages, "messages found versus MANIFEST");
      if (failures.length + diffs.length > 0) {
        console.log(`${row.file}: ${failures.length} failed, ${diffs.length} differences`);
        for (const line of [...failures, ...diffs].slice(0, 10)) console.log(`  ${line}`);
      }
      if (malformed === 0) {
        assert.deepEqual(failures, []);
        assert.deepEqual(diffs, []);
      } else {
        assert.ok(failures.length <= malformed, "more failures than tshark's malformed count");
        assert.ok(failures.length + diffs.length <= malformed, "too many differences");
      }
    },
  });

  if (!row.features.some((f) => f.startsWith("SIP/TCP"))) continue;

  Deno.test({
    name: `captures: ${row.file}: TCP streams framed like tshark`,
    ignore: !HAS_TSHARK,
    fn: async () => {
      const path = new URL(row.file, CAPTURES).pathname;
      const rows = (await tshark([
        "-r",
        path,
        "-Y",
        "sip && tcp && !websocket",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-E",
        "occurrence=l",
      ])).trim();
      const expected = new Map<string, number>();
      for (const stream of rows.split("\n")) {
        if (stream !== "") expected.set(stream, (expected.get(stream) ?? 0) + 1);
      }
      assert.ok(expected.size > 0, "no SIP over TCP found");
      for (const [stream, count] of expected) {
        const text = await tshark(["-r", path, "-q", "-z", `follow,tcp,raw,${stream}`]);
        const lines = text.split("\n").filter((line) => /^\t?[0-9a-f]+$/.test(line));
        let framed = 0;
        for (const node of [0, 1]) {
          const bytes = fromHex(
            lines.filter((l) => (l.startsWith("\t") ? 1 : 0) === node).map((l) => l.trim()).join(
              "",
            ),
          );
          let offset = 0;
          while (offset < bytes.length) {
            offset += skipKeepAlive(bytes, offset, bytes.length - offset);
            if (offset >= bytes.length) break;
            const n = sipMessageLength(bytes, offset, bytes.length - offset);
            assert.ok(n > 0, `stream ${stream} node ${node}: ${n} at ${offset} of ${bytes.length}`);
            const result = parseSipMessage(bytes.subarray(offset, offset + n), {
              framing: "stream",
            });
            assert.ok(result.ok, `stream ${stream}: ${!result.ok && result.reason}`);
            framed++;
            offset += n;
          }
        }
        assert.equal(framed, count, `stream ${stream}: messages framed versus tshark`);
      }
    },
  });
}
