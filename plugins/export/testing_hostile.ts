/**
 * A small capture with hostile text in every place an export writes out:
 * a display name that is a spreadsheet formula, HTML in User-Agent, Server
 * and a reason phrase, a Call-ID that is a path (`../../`), headers named
 * `__proto__` and `constructor`, and a binary body — around an ordinary
 * answered call with RTP both ways. Built with the synthetic builders of
 * `tools/synth/` for the export tests.
 *
 * @module
 */

import { PcapWriter } from "../../engine/capture/pcap_writer.ts";
import { buildUdpFrame } from "../../tools/synth/packet_builder.ts";
import { SeededRandom } from "../../tools/synth/random.ts";
import { buildRtpPacket } from "../../tools/synth/rtp_builder.ts";
import {
  buildSdp,
  encodeSipMessage,
  SipDialog,
  type SipDraft,
} from "../../tools/synth/sip_builder.ts";

/** What the hostile capture holds. */
export interface HostileCapture {
  /** Where it was written. */
  path: string;
  /** The Call-ID (a path with `..`). */
  callId: string;
  /** The caller's display name (a formula). */
  displayName: string;
  /** The caller's User-Agent (a script tag). */
  userAgent: string;
  /** The callee's Server header (an HTML injection). */
  server: string;
  /** Reason phrase of the 180 (a script tag). */
  ringingReason: string;
  /** SIP requests written. */
  requests: number;
  /** SIP messages written. */
  messages: number;
  /** RTP packets per direction. */
  rtpPerDirection: number;
}

/** The formula in the caller's display name. */
export const HOSTILE_DISPLAY_NAME = '=HYPERLINK("http://evil.example/","click")';

/**
 * Writes the hostile capture (Ethernet, IPv4, UDP; classic pcap).
 *
 * @param path Output file.
 * @returns What it holds.
 */
export async function writeHostileCapture(path: string): Promise<HostileCapture> {
  const random = new SeededRandom(4242);
  const caller = { ip: "10.0.0.10", sip: 5060, rtp: 4000 };
  const callee = { ip: "10.0.0.20", sip: 5060, rtp: 5000 };
  const callId = "../../evil<script>@10.0.0.10";
  const userAgent = "<script>alert(1)</script>";
  const server = "</td><img src=x onerror=alert(2)>";
  const ringingReason = "Ringing <script>alert(3)</script>";
  const dialog = new SipDialog({
    callId,
    random,
    caller: {
      uri: "sip:1001@pbx.example",
      displayName: HOSTILE_DISPLAY_NAME,
      tag: "c1",
      contact: `sip:1001@${caller.ip}:${caller.sip}`,
      host: caller.ip,
      port: caller.sip,
      userAgent,
    },
    callee: {
      uri: "sip:1002@pbx.example",
      tag: "e1",
      contact: `sip:1002@${callee.ip}:${callee.sip}`,
      host: callee.ip,
      port: callee.sip,
      server,
    },
  });
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = new PcapWriter(file);
  let t = 1_750_000_000;
  let requests = 0;
  let messages = 0;
  const send = async (draft: SipDraft, fromCaller: boolean, delay = 0.01) => {
    t += delay;
    const [src, dst] = fromCaller ? [caller, callee] : [callee, caller];
    await writer.writePacket(
      t,
      buildUdpFrame({
        src: { ip: src.ip, port: src.sip },
        dst: { ip: dst.ip, port: dst.sip },
        payload: encodeSipMessage(draft),
      }),
    );
    messages++;
    if (draft.kind === "request") requests++;
  };
  const invite = dialog.invite({
    body: buildSdp({ sessionId: 1, sessionVersion: 1, address: caller.ip, port: caller.rtp }),
    headers: [["__proto__", '{"polluted":true}'], ["constructor", "prototype"]],
  });
  await send(invite, true, 0);
  await send(dialog.respond(invite, 100), false);
  await send(dialog.respond(invite, 180, { reason: ringingReason }), false);
  const ok = dialog.respond(invite, 200, {
    body: buildSdp({ sessionId: 2, sessionVersion: 1, address: callee.ip, port: callee.rtp }),
  });
  await send(ok, false, 1);
  await send(dialog.ack(invite, ok), true);
  const rtpPerDirection = 50;
  for (let i = 0; i < rtpPerDirection; i++) {
    t += 0.02;
    for (const [src, dst, ssrc] of [[caller, callee, 0x1111], [callee, caller, 0x2222]] as const) {
      await writer.writePacket(
        t + (ssrc === 0x2222 ? 0.001 : 0),
        buildUdpFrame({
          src: { ip: src.ip, port: src.rtp },
          dst: { ip: dst.ip, port: dst.rtp },
          payload: buildRtpPacket(
            { payloadType: 0, sequence: 100 + i, timestamp: 1000 + i * 160, ssrc },
            new Uint8Array(160).fill(0xff),
          ),
        }),
      );
    }
  }
  // An INFO with a binary body: written as base64 by the NDJSON export.
  const info = dialog.request("caller", "INFO", {
    body: "\u0001\u0002\u0000\u0010ISUP\u0003",
    contentType: "application/isup",
  });
  await send(info, true, 0.01);
  await send(dialog.respond(info, 200), false);
  const bye = dialog.request("caller", "BYE");
  await send(bye, true, 0.01);
  await send(dialog.respond(bye, 200), false);
  await writer.close();
  return {
    path,
    callId,
    displayName: HOSTILE_DISPLAY_NAME,
    userAgent,
    server,
    ringingReason,
    requests,
    messages,
    rtpPerDirection,
  };
}
