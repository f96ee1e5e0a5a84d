import assert from "node:assert/strict";
import { decodeRtpHeader, RtpHeader } from "./rtp_header.ts";
import {
  decodeTelephoneEvent,
  DtmfDetector,
  type DtmfDigit,
  EVENT_FLASH,
  TelephoneEvent,
  telephoneEventName,
} from "./telephone_event.ts";
import { CAPTURES_DIR, capturesPresent, readUdpDatagrams } from "./testing_captures.ts";

/** A telephone-event payload as an object. */
function te(event: number, end: boolean, volume: number, duration: number): TelephoneEvent {
  const packet = new TelephoneEvent();
  packet.event = event;
  packet.end = end;
  packet.volume = volume;
  packet.duration = duration;
  return packet;
}

function collect(clockRate?: number): { detector: DtmfDetector; digits: DtmfDigit[] } {
  const digits: DtmfDigit[] = [];
  const detector = new DtmfDetector({ clockRate, onDigit: (d) => digits.push(d) });
  return { detector, digits };
}

Deno.test("decodeTelephoneEvent reads event, E bit, volume and duration", () => {
  const e = new TelephoneEvent();
  const data = new Uint8Array([0xff, 0, 1, 2, 0x80 | 0x40 | 63, 0xff, 0xff, 9]);
  assert.equal(decodeTelephoneEvent(data, 3, 4, e), true);
  assert.deepEqual([e.event, e.end, e.volume, e.duration], [2, true, 63, 0xffff]);
  // The R bit (0x40) is ignored; E clear.
  assert.equal(decodeTelephoneEvent(new Uint8Array([9, 0x40 | 7, 0, 160]), 0, 4, e), true);
  assert.deepEqual([e.event, e.end, e.volume, e.duration], [9, false, 7, 160]);
  assert.equal(decodeTelephoneEvent(new Uint8Array([1, 2, 3]), 0, 3, e), false);
  assert.equal(decodeTelephoneEvent(new Uint8Array([1, 2, 3, 4]), 2, 4, e), false);
});

Deno.test("telephoneEventName covers the 17 DTMF events of RFC 4733 §3.2", () => {
  const names = Array.from({ length: 17 }, (_, i) => telephoneEventName(i));
  assert.deepEqual(names.join(""), "0123456789*#ABCDflash");
  assert.equal(telephoneEventName(EVENT_FLASH), "flash");
  assert.equal(telephoneEventName(17), null);
  assert.equal(telephoneEventName(255), null);
});

Deno.test("DtmfDetector reports one digit per timestamp and drops the repeated end packets", () => {
  const { detector, digits } = collect();
  // "1": 3 packets while pressed, end packet 3 times; then "#", same pattern.
  detector.pushEvent(100.0, 8000, te(1, false, 10, 160));
  detector.pushEvent(100.02, 8000, te(1, false, 10, 320));
  detector.pushEvent(100.04, 8000, te(1, false, 12, 480));
  for (let i = 0; i < 3; i++) detector.pushEvent(100.06 + i * 0.001, 8000, te(1, true, 12, 640));
  assert.equal(digits.length, 1);
  detector.pushEvent(101.0, 16000, te(11, false, 8, 160));
  for (let i = 0; i < 3; i++) detector.pushEvent(101.02 + i * 0.001, 16000, te(11, true, 8, 400));
  detector.flush();
  assert.deepEqual(digits, [
    {
      digit: "1",
      event: 1,
      startTime: 100.0,
      rtpTimestamp: 8000,
      durationMs: 80,
      volume: 12,
      ended: true,
      packets: 4,
    },
    {
      digit: "#",
      event: 11,
      startTime: 101.0,
      rtpTimestamp: 16000,
      durationMs: 50,
      volume: 8,
      ended: true,
      packets: 2,
    },
  ]);
});

Deno.test("DtmfDetector reports a digit without an end packet when the timestamp changes or at flush", () => {
  const { detector, digits } = collect();
  detector.pushEvent(1, 1000, te(4, false, 10, 160));
  detector.pushEvent(1.02, 1000, te(4, false, 10, 320));
  // The end packets were lost; the next key press starts.
  detector.pushEvent(2, 5000, te(4, false, 10, 160));
  assert.equal(digits.length, 1);
  assert.equal(digits[0]?.ended, false);
  assert.equal(digits[0]?.durationMs, 40);
  detector.flush();
  detector.flush(); // nothing more in progress
  assert.equal(digits.length, 2);
  assert.deepEqual([digits[1]?.digit, digits[1]?.rtpTimestamp, digits[1]?.ended], [
    "4",
    5000,
    false,
  ]);
});

Deno.test("DtmfDetector: a new event at the same timestamp, reordered growth, and other events", () => {
  const { detector, digits } = collect();
  detector.pushEvent(1, 1000, te(2, false, 10, 320));
  detector.pushEvent(1.01, 1000, te(2, false, 10, 160)); // reordered: duration must not shrink
  detector.pushEvent(1.02, 1000, te(3, false, 10, 160)); // different event, same timestamp
  detector.pushEvent(1.03, 1000, te(3, true, 10, 320));
  detector.pushEvent(1.04, 1000, te(3, true, 10, 320)); // repeat: dropped
  detector.pushEvent(2, 9000, te(32, true, 0, 800)); // a fax tone (ANS), single end packet
  assert.deepEqual(digits.map((d) => [d.digit, d.event, d.durationMs, d.ended]), [
    ["2", 2, 40, false],
    ["3", 3, 40, true],
    [null, 32, 100, true],
  ]);
});

Deno.test("DtmfDetector joins the segments of a long event (RFC 4733 §2.5.1.3)", () => {
  const { detector, digits } = collect();
  detector.pushEvent(1, 100, te(0, false, 10, 0xffff));
  // The next segment starts at the old timestamp + 0xffff, same event.
  detector.pushEvent(10, 100 + 0xffff, te(0, false, 10, 8000));
  detector.pushEvent(11, 100 + 0xffff, te(0, true, 10, 16000));
  assert.equal(digits.length, 1);
  assert.equal(digits[0]?.rtpTimestamp, 100);
  assert.equal(digits[0]?.durationMs, ((0xffff + 16000) * 1000) / 8000);
  assert.equal(digits[0]?.startTime, 1);
});

Deno.test("DtmfDetector.push decodes from the RTP payload and ignores short payloads", () => {
  const { detector, digits } = collect();
  const header = new RtpHeader();
  const packet = new Uint8Array([
    0x80,
    101,
    0,
    1,
    0,
    0,
    0x03,
    0xe8,
    0,
    0,
    0,
    9,
    10,
    0x8a,
    0x01,
    0x40,
  ]);
  assert.equal(decodeRtpHeader(packet, 0, packet.length, header), true);
  assert.equal(detector.push(5, header, packet), true);
  assert.deepEqual(digits.map((d) => [d.digit, d.durationMs, d.rtpTimestamp]), [["*", 40, 1000]]);
  const short = packet.slice(0, 14);
  assert.equal(decodeRtpHeader(short, 0, short.length, header), true);
  assert.equal(detector.push(6, header, short), false);
});

const SIPP_DTMF = "/usr/share/sip-tester/";
function sippDtmfPresent(): boolean {
  try {
    return Deno.statSync(`${SIPP_DTMF}dtmf_2833_1.pcap`).isFile;
  } catch {
    return false;
  }
}
if (!sippDtmfPresent()) console.log("telephone_event_test: sipp's DTMF captures missing, skipping");

Deno.test({
  name: "DtmfDetector on sipp's RFC 2833 captures: one digit per file, 280 ms",
  ignore: !sippDtmfPresent(),
  fn() {
    const keys = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "pound", "star"];
    const found: string[] = [];
    for (const key of keys) {
      const { detector, digits } = collect(8000);
      const header = new RtpHeader();
      const datagrams = readUdpDatagrams(`${SIPP_DTMF}dtmf_2833_${key}.pcap`);
      assert.equal(datagrams.length, 10);
      for (const d of datagrams) {
        assert.ok(decodeRtpHeader(d.payload, 0, d.payload.length, header));
        assert.equal(header.payloadType, 101);
        detector.push(d.time, header, d.payload);
      }
      detector.flush();
      // 7 packets while pressed, then the end packet three times (same sequence number).
      assert.equal(digits.length, 1, key);
      const digit = digits[0]!;
      assert.equal(digit.ended, true);
      assert.equal(digit.durationMs, 280);
      assert.equal(digit.volume, 10);
      assert.equal(digit.packets, 8);
      found.push(digit.digit!);
    }
    assert.deepEqual(found.join(""), "0123456789#*");
  },
});

Deno.test({
  name:
    "DtmfDetector on the heplify FAX capture: Cisco NSE event 194 sent three times is one event",
  ignore: !capturesPresent(),
  fn() {
    const { detector, digits } = collect(8000);
    const header = new RtpHeader();
    const datagrams = readUdpDatagrams(
      new URL("heplify__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", CAPTURES_DIR),
    );
    for (const d of datagrams) {
      if (!decodeRtpHeader(d.payload, 0, d.payload.length, header)) continue;
      if (header.ssrc !== 0x17d90134 || header.payloadType !== 100) continue;
      detector.push(d.time, header, d.payload);
    }
    detector.flush();
    // tshark: frames 1617, 1621, 1625, PT 100, timestamp 146984, payload c2800000.
    assert.deepEqual(digits.map((d) => [d.event, d.digit, d.ended, d.rtpTimestamp]), [
      [194, null, true, 146984],
    ]);
  },
});
