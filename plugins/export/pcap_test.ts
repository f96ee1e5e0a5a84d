import assert from "node:assert/strict";
import { Analyzer } from "../../engine/analyzer.ts";
import { openCapture } from "../../engine/capture/open.ts";
import { PluginHost } from "../host.ts";
import { writeCallCapture } from "./pcap.ts";
import { type FrameSpool, SpoolStore } from "./spool.ts";
import { HAS_TSHARK, tsharkView } from "./testing_tshark.ts";

const SIPP = new URL("../../fixtures/sipp/", import.meta.url).pathname;
if (!HAS_TSHARK) console.warn("pcap_test: tshark not found, skipping the tshark checks");

interface Seen {
  ts: number;
  linkType: number;
  length: number;
}

async function frames(
  path: string,
  each?: (f: { ts: number; linkType: number; data: Uint8Array; origLen: number }) => void,
): Promise<Seen[]> {
  const opened = await openCapture(path);
  const seen: Seen[] = [];
  await opened.source.run({
    onFrame: (f) => {
      seen.push({ ts: f.ts, linkType: f.linkType, length: f.length });
      each?.({ ts: f.ts, linkType: f.linkType, data: f.data, origLen: f.origLen });
    },
  });
  opened.close();
  return seen;
}

Deno.test("pcap: spools of different link types merge by time into pcapng with an interface per link type", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SpoolStore(dir);
    let seq = 0;
    const spoolOf = async (path: string): Promise<FrameSpool> => {
      const spool = store.create();
      await frames(
        path,
        (f) => spool.append(f.ts, seq++, f.linkType, f.origLen, f.data, 0, f.data.length),
      );
      return spool;
    };
    const ethernet = await spoolOf(`${SIPP}answered_udp.pcap`);
    const sll = await spoolOf(`${SIPP}callee_bye_udp_sll.pcap`);
    const total = ethernet.frames + sll.frames;
    const written = await writeCallCapture([ethernet, sll], `${dir}/mixed`);
    assert.ok(written);
    assert.equal(written.path, `${dir}/mixed.pcapng`);
    assert.equal(written.frames, total);
    const back = await frames(written.path);
    assert.equal(back.length, total);
    assert.deepEqual(new Set(back.map((f) => f.linkType)), new Set([1, 113]));
    for (let i = 1; i < back.length; i++) {
      assert.ok(back[i]!.ts >= back[i - 1]!.ts, `frame ${i + 1} out of order`);
    }
    if (HAS_TSHARK) {
      const view = await tsharkView(written.path);
      assert.equal(view.frames, total);
      const a = await tsharkView(`${SIPP}answered_udp.pcap`);
      const b = await tsharkView(`${SIPP}callee_bye_udp_sll.pcap`);
      assert.equal(view.sip.messages, a.sip.messages + b.sip.messages);
    }
    // Several spools of one link type: merged by time into classic pcap.
    const a = await spoolOf(`${SIPP}answered_udp.pcap`);
    const b = await spoolOf(`${SIPP}hold_udp.pcap`);
    const both = a.frames + b.frames;
    const merged = await writeCallCapture([b, a], `${dir}/merged`);
    assert.equal(merged?.path, `${dir}/merged.pcap`);
    assert.equal(merged?.frames, both);
    const mergedFrames = await frames(merged!.path);
    assert.equal(mergedFrames.length, both);
    for (let i = 1; i < mergedFrames.length; i++) {
      assert.ok(
        mergedFrames[i]!.ts >= mergedFrames[i - 1]!.ts,
        `merged frame ${i + 1} out of order`,
      );
    }
    // One spool: moved into place as it is.
    const single = await writeCallCapture([await spoolOf(`${SIPP}busy_udp.pcap`)], `${dir}/single`);
    assert.equal(single?.path, `${dir}/single.pcap`);
    assert.deepEqual(await frames(single!.path), await frames(`${SIPP}busy_udp.pcap`));
    // No spool file is left behind.
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["merged.pcap", "mixed.pcapng", "single.pcap"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const capture of ["answered_udp.pcap", "early_media_udp_sll2.pcap", "hold_udp.pcap"]) {
  Deno.test({
    name: `pcap: without rules, one file per leg of ${capture}, with exactly its SIP and RTP`,
    ignore: !HAS_TSHARK,
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        const analyzer = new Analyzer();
        const host = await PluginHost.load(analyzer, [{ use: "pcap", options: { dir } }]);
        assert.ok(await analyzer.analyzeFile(`${SIPP}${capture}`));
        const report = analyzer.report();
        await host.close();
        assert.equal(host.reports[0]!.errors, 0, host.reports[0]!.firstError ?? "");
        const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
        assert.equal(files.length, report.calls.length, `files: ${files}`);
        const inputLinkType = (await frames(`${SIPP}${capture}`))[0]!.linkType;
        for (const call of report.calls) {
          const file = files.find((f) =>
            f.endsWith(`_${call.callId.replace(/[^A-Za-z0-9+\-_.]/g, "_").slice(0, 80)}.pcap`)
          );
          assert.ok(file, `no file for ${call.id} among ${files}`);
          assert.match(file, /^\d{8}-\d{6}_/);
          const view = await tsharkView(`${dir}/${file}`);
          assert.equal(view.sip.messages, call.messages, `${call.id}: SIP messages`);
          const ours = report.streams.filter((s) => s.legId === call.id);
          assert.ok(ours.length > 0);
          for (const s of ours) {
            const theirs = view.streams.find((t) =>
              t.ssrc === s.ssrc && t.srcPort === s.src.port && t.dstPort === s.dst.port
            );
            assert.ok(theirs, `tshark has no stream ${s.id}`);
            assert.equal(theirs.packets, s.packets, s.id);
          }
          assert.equal(view.streams.length, ours.length);
          const linkTypes = new Set((await frames(`${dir}/${file}`)).map((f) => f.linkType));
          assert.deepEqual(linkTypes, new Set([inputLinkType]));
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
