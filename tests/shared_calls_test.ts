/**
 * Call legs on captures written by others (../shared/captures). The
 * expectations were read off each capture's SIP ladder in Wireshark
 * (`tshark -r FILE -Y sip`), message by message, not from our output.
 */
import assert from "node:assert/strict";
import { Analyzer } from "../engine/analyzer.ts";
import type { CallRecord } from "../engine/calls/leg.ts";
import { SHARED_CAPTURES, sharedCaptures } from "./support/shared_captures.ts";

type Expect =
  & Partial<Pick<CallRecord, "state" | "finalStatus" | "endedBy" | "endMethod" | "openAtEnd">>
  & {
    callId: string;
    caller: string;
    callee: string;
    attempts?: string[];
    holds?: number;
    dtmf?: string;
    talk?: [number, number];
  };

const CASES: Record<string, { why: string; calls: Expect[] }> = {
  "pkts__cancel.pcap": {
    why: "INVITE, 100, 180 (2.1 s), CANCEL from the caller (3.1 s), 200 for the CANCEL, 487, ACK",
    calls: [{
      callId: "1-6261@127.0.1.1",
      caller: "sipp",
      callee: "receiver",
      state: "cancelled",
      finalStatus: 487,
      endedBy: "caller",
      endMethod: "CANCEL",
      attempts: ["487"],
    }],
  },
  "sipnab__DTMFsipinfo.pcap": {
    why: "three INVITEs (CSeq 1-3) from the caller, each answered 200; INFO dtmf-relay digits " +
      "1, 3, 4, 2 from the caller; two session-refresh re-INVITEs; no BYE before the capture ends",
    calls: [{
      callId: "2091060b-146f-e011-809a-0019cb53db77@admind-desktop",
      caller: "admind",
      callee: "echo",
      state: "answered",
      finalStatus: 200,
      endedBy: null,
      openAtEnd: true,
      attempts: ["200", "200", "200"],
      dtmf: "1342",
    }],
  },
  "sipnab__sip-488-codec-reject.pcapng": {
    why: "INVITE challenged 401, re-sent (CSeq 21), 100, then 488 Not Acceptable Here",
    calls: [{
      callId: "NA4y5nr9Jk",
      caller: "8801",
      callee: "8802",
      state: "rejected",
      finalStatus: 488,
      endedBy: "callee",
      endMethod: "response",
      attempts: ["401c", "488"],
    }],
  },
  "sipnab__sip-proxy.pcap": {
    why: "201 calls 101 through a proxy (10.33.6.102): two INVITE hops, both answered 200 at " +
      "0.71-0.73 s; the callee (10.33.6.100, the 200's To-tag) sends BYE at 2.96 s",
    calls: [{
      callId: "75104938772201062721@10.33.6.101",
      caller: "201",
      callee: "101",
      state: "ended",
      finalStatus: 200,
      endedBy: "callee",
      endMethod: "BYE",
      attempts: ["200", "200"],
      talk: [2.2, 2.3],
    }],
  },
  "sipnab__sip-rtp-g711.pcap": {
    why:
      "two sipp calls; the first ends with the callee's BYE, the second is still up when the capture ends",
    calls: [
      {
        callId: "1-1966@10.0.2.20",
        caller: "sipp",
        callee: "test",
        state: "ended",
        endedBy: "callee",
      },
      {
        callId: "1-1968@10.0.2.20",
        caller: "sipp",
        callee: "test",
        state: "answered",
        openAtEnd: true,
      },
    ],
  },
  "heplify__erspan_sip_ipv4_udp.pcapng": {
    why:
      "an SBC shows each call on two hops. Call 1: 20008777 calls 20008909, answered at 17.04 s, " +
      "held by a re-INVITE (recvonly answer) at 20.99 s, REFERs at 31.43 s, BYE at 31.52 s; " +
      "calls 2 and 3: 20008909 calls 20008910 (the first challenged 407), both answered, held, " +
      "ended by the caller's BYE",
    calls: [
      {
        callId: "ddd141f1d982d8989fb73db754a8fbb7@192.168.1.191",
        caller: "20008777",
        callee: "20008909",
        state: "ended",
        holds: 1,
      },
      {
        callId: "bf3880-0-16e4-5af571fa-38bc4ba4-5af571fa@101.231.48.19",
        caller: "20008909",
        callee: "20008910",
        state: "ended",
        endedBy: "caller",
        attempts: ["407c", "407c", "200", "200"],
      },
      {
        callId: "cdfef7c7647e97e4ff66fbf504c524e4@192.168.1.191",
        caller: "20008909",
        callee: "20008910",
        state: "ended",
        endedBy: "caller",
      },
    ],
  },
};

const available = new Set(await sharedCaptures());

for (const [capture, { why, calls }] of Object.entries(CASES)) {
  Deno.test({
    name: `shared calls: ${capture}`,
    ignore: !available.has(capture),
    async fn() {
      const analyzer = new Analyzer();
      await analyzer.analyzeFile(`${SHARED_CAPTURES}/${capture}`);
      const report = analyzer.report();
      assert.equal(report.calls.length, calls.length, why);
      for (const want of calls) {
        const got = report.calls.find((c) => c.callId === want.callId);
        assert.ok(got, `${want.callId} (${why})`);
        const where = `${want.callId} (${why})`;
        assert.equal(got.caller.user, want.caller, where);
        assert.equal(got.callee.user, want.callee, where);
        for (const key of ["state", "finalStatus", "endedBy", "endMethod", "openAtEnd"] as const) {
          if (want[key] !== undefined) assert.equal(got[key], want[key], `${key}: ${where}`);
        }
        if (want.attempts) {
          assert.deepEqual(
            got.attempts.map((a) => `${a.status}${a.challenged ? "c" : ""}`),
            want.attempts,
            where,
          );
        }
        if (want.holds !== undefined) assert.equal(got.holds.length, want.holds, where);
        if (want.dtmf !== undefined) {
          assert.equal(got.dtmf.map((d) => d.digit).join(""), want.dtmf, where);
        }
        if (want.talk) {
          assert.ok(got.talkTime! >= want.talk[0] && got.talkTime! <= want.talk[1], where);
        }
      }
    },
  });
}
