/**
 * Rebuilds the five seed-scenario captures of the user's Centrex site, which
 * we do not have, from the message timelines in
 * `../shared/seeds/scenario-analysis-report.ko.md` — normal call, blind
 * transfer, call pickup with `*8`, 3-way conference (exact timestamps and
 * Call-IDs from the report) and sequential ring after 486 — plus a second
 * variant of each from an imagined second site (other addresses, extensions,
 * numbers, codec, feature code, timings and Call-ID formats; an attended
 * transfer with Replaces; a no-answer hunt), so that rules cannot be tuned to
 * one capture.
 *
 * Topology, as on the site: the phones talk only to the server, a B2BUA that
 * also relays the media, so every call is one or more legs between a phone
 * and the server, each with its own Call-ID, and the external caller's trunk
 * leg is not in the capture. Every leg that is answered carries 20 ms G.711
 * RTP both ways between the phone and a per-leg server port; each person's
 * voice is a sine tone of their own frequency (see `*_HZ` below), so a
 * recording shows who is heard on which channel. A held leg carries no RTP.
 *
 * Output is deterministic: run it twice and the files are identical.
 *
 * ```sh
 * deno run -A tools/synth/seed_scenarios.ts [OUTDIR]   # default fixtures/seed/
 * ```
 *
 * @module
 */

import { PcapngWriter } from "../../engine/capture/pcapng_writer.ts";
import { buildUdpFrame, type Endpoint } from "./packet_builder.ts";
import { SeededRandom } from "./random.ts";
import { RtpSender } from "./rtp_builder.ts";
import {
  buildSdp,
  type DialogParty,
  type DialogSide,
  digestCredentials,
  encodeSipMessage,
  formatDigestChallenge,
  getHeader,
  type SdpDirection,
  SipDialog,
  type SipDraft,
  sipfragBody,
  type SipHeaders,
  type SipRequestDraft,
  type SipResponseDraft,
} from "./sip_builder.ts";

/** One phone of a site. */
export interface PhoneProfile {
  /** IP address. */
  ip: string;
  /** SIP port. */
  sipPort: number;
  /** SIP user (registration name), such as `109Q1428`. */
  user: string;
  /** Extension the others dial, such as `1428`. */
  extension: string;
  /** Display name in its From headers. */
  displayName: string;
  /** Digest password. */
  password: string;
  /** First RTP port; each new leg takes the next even port. */
  rtpPort: number;
  /** The tone of this person's voice, Hz. */
  voiceHz: number;
}

/** Everything that differs between the seed site and the variant site. */
export interface SiteProfile {
  /** Date of the captures, `YYYY-MM-DD`. */
  date: string;
  /** UTC offset of the clock times, `+09:00`. */
  utcOffset: string;
  /** Server (B2BUA) address. */
  serverIp: string;
  /** Server SIP port. */
  serverPort: number;
  /** First server RTP port. */
  serverRtpPort: number;
  /** Write `:port` in the Request-URI of REGISTER. */
  registerUriPort: boolean;
  /** Server's User-Agent and Server header. */
  serverAgent: string;
  /** Phones' User-Agent. */
  phoneAgent: string;
  /** Digest realm. */
  realm: string;
  /** Offer `qop="auth"` in challenges. */
  qop: boolean;
  /** Opaque value in challenges, if any. */
  opaque?: string;
  /** Registration lifetime, seconds. */
  expires: number;
  /** Codec of the answers: 0 PCMU or 8 PCMA. */
  payloadType: 0 | 8;
  /** Codecs the offers list. */
  offerPayloadTypes: number[];
  /** Add `X-xfer-pressed: True` where the seed site does. */
  xferPressed: boolean;
  /** Timestamp resolution of the capture interface (6 µs or 9 ns). */
  tsResolution: number;
  /** Phone A (answers pickups, transfers and hunts). */
  phoneA: PhoneProfile;
  /** Phone B (rings first, transfers, starts the conference). */
  phoneB: PhoneProfile;
  /** Call-ID of a phone's registration. */
  registerCallId(random: SeededRandom, phone: PhoneProfile): string;
  /** Branch of a Via header. */
  branch(random: SeededRandom): string;
  /** A tag. */
  tag(random: SeededRandom): string;
}

/** Voice of the seed site's external caller 01077141436. */
export const SEED_CALLER_HZ = 440;
/** Voice of the seed site's other external caller (sequential ring, first call). */
export const SEED_OTHER_CALLER_HZ = 370;
/** Voice of the seed site's phone B, extension 1427. */
export const SEED_B_HZ = 660;
/** Voice of the seed site's phone A, extension 1428. */
export const SEED_A_HZ = 880;
/** Ringback tone the seed server sends as early media. */
export const SEED_RINGBACK_HZ = 480;
/** Voice of the variant site's external parties. */
export const VARIANT_CALLER_HZ = 523;
/** Voice of the variant site's phone B, extension 2002. */
export const VARIANT_B_HZ = 784;
/** Voice of the variant site's phone A, extension 2001. */
export const VARIANT_A_HZ = 1047;
/** Ringback tone the variant server sends as early media. */
export const VARIANT_RINGBACK_HZ = 425;

const PHONE_ALLOW = "INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, OPTIONS, INFO, UPDATE";
const SERVER_ALLOW = "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS, INFO, UPDATE, SUBSCRIBE";

/** The user's site, as the report and the brief describe it. */
export const SEED_SITE: SiteProfile = {
  date: "2025-03-19",
  utcOffset: "+09:00",
  serverIp: "112.222.225.104",
  serverPort: 5060,
  serverRtpPort: 30000,
  registerUriPort: false,
  serverAgent: "Centrex-B2BUA (packetwave synthetic)",
  phoneAgent: "IP-Phone/1.0 (packetwave synthetic)",
  realm: "112.222.225.104",
  qop: true,
  expires: 180,
  payloadType: 0,
  offerPayloadTypes: [0, 8],
  xferPressed: true,
  tsResolution: 6,
  phoneA: {
    ip: "192.168.0.54",
    sipPort: 5060,
    user: "109Q1428",
    extension: "1428",
    displayName: "07086661428,1428",
    password: "seed-1428",
    rtpPort: 10000,
    voiceHz: SEED_A_HZ,
  },
  phoneB: {
    ip: "192.168.0.55",
    sipPort: 5060,
    user: "109Q1427",
    extension: "1427",
    displayName: "07086661427,1427",
    password: "seed-1427",
    rtpPort: 12000,
    voiceHz: SEED_B_HZ,
  },
  registerCallId: (random, phone) => `${random.hex(32)}@${phone.ip}`,
  branch: (random) => `z9hG4bK${random.hex(16)}`,
  tag: (random) => random.hex(8),
};

/** An imagined second site: nothing but the shape of the flows is shared with the seed site. */
export const VARIANT_SITE: SiteProfile = {
  date: "2025-04-02",
  utcOffset: "+09:00",
  serverIp: "10.20.30.40",
  serverPort: 5080,
  serverRtpPort: 20000,
  registerUriPort: true,
  serverAgent: "AcmePBX/7.2 (packetwave synthetic)",
  phoneAgent: "SoftPhone/3.1 (packetwave synthetic)",
  realm: "pbx.example.net",
  qop: false,
  opaque: "5ccc069c403ebaf9f0171e9517f40e41",
  expires: 600,
  payloadType: 8,
  offerPayloadTypes: [8, 0],
  xferPressed: false,
  tsResolution: 9,
  phoneA: {
    ip: "10.20.30.51",
    sipPort: 5062,
    user: "2001",
    extension: "2001",
    displayName: "Reception, 2001",
    password: "variant-2001",
    rtpPort: 40000,
    voiceHz: VARIANT_A_HZ,
  },
  phoneB: {
    ip: "10.20.30.52",
    sipPort: 5062,
    user: "2002",
    extension: "2002",
    displayName: "박지영",
    password: "variant-2002",
    rtpPort: 42000,
    voiceHz: VARIANT_B_HZ,
  },
  registerCallId: (random, phone) => `${random.hex(8)}-${random.hex(8)}@${phone.ip}`,
  branch: (random) => `z9hG4bK-${random.token(6)}-${random.hex(8)}`,
  tag: (random) => `${random.token(10)}`,
};

/** A leg as the generator built it, for tests. */
export interface LegSummary {
  /** Call-ID. */
  callId: string;
  /** Whether the INVITE got a 200. */
  answered: boolean;
  /** `ip:port` of the phone's RTP. */
  phoneMedia: string;
  /** `ip:port` of the server's RTP for this leg. */
  serverMedia: string;
  /** RTP packets sent by the phone. */
  phoneRtpPackets: number;
  /** RTP packets sent by the server. */
  serverRtpPackets: number;
}

/** What one generated capture holds, as the generator intended it. */
export interface CaptureSummary {
  /** File name, such as `4-conference.pcapng`. */
  file: string;
  /** Frames written. */
  packets: number;
  /** File size in bytes. */
  bytes: number;
  /** SIP messages by method (requests) or status code (responses). */
  sipCounts: Record<string, number>;
  /** Every INVITE leg. */
  legs: LegSummary[];
  /** Time of the first and the last frame, seconds since the epoch. */
  span: [number, number];
}

type Role = "phone" | "server";

interface TimedFrame {
  us: number;
  order: number;
  data: Uint8Array;
}

/** Microseconds. */
function ms(n: number): number {
  return Math.round(n * 1000);
}

/** Collects the frames of one capture, in time order, and writes them. */
class CaptureScript {
  readonly file: string;
  readonly site: SiteProfile;
  readonly random: SeededRandom;
  readonly sipCounts = new Map<string, number>();
  readonly legs: Leg[] = [];
  readonly #frames: TimedFrame[] = [];
  readonly #ipIds = new Map<string, number>();
  readonly #nextPort = new Map<string, number>();
  readonly #comment: string;

  constructor(file: string, site: SiteProfile, comment: string) {
    this.file = file;
    this.site = site;
    this.random = new SeededRandom(`packetwave seed ${file}`);
    this.#comment = comment;
  }

  /** Wall-clock time on the capture's date, in µs since the epoch. */
  at(clock: string): number {
    const t = Date.parse(`${this.site.date}T${clock}${this.site.utcOffset}`);
    if (Number.isNaN(t)) throw new RangeError(`Bad clock time: ${clock}`);
    return t * 1000;
  }

  get server(): Endpoint {
    return { ip: this.site.serverIp, port: this.site.serverPort };
  }

  /** Next media port of a host, from its first port, two at a time. */
  mediaPort(ip: string, first: number): number {
    const port = this.#nextPort.get(ip) ?? first;
    this.#nextPort.set(ip, port + 2);
    return port;
  }

  frame(us: number, src: Endpoint, dst: Endpoint, payload: Uint8Array, dscp = 0): void {
    const ipId = this.#ipIds.get(src.ip) ?? this.random.int(0x0100, 0xf000);
    this.#ipIds.set(src.ip, (ipId + 1) & 0xffff);
    const data = buildUdpFrame({ src, dst, payload, ipId, dscp });
    this.#frames.push({ us, order: this.#frames.length, data });
  }

  sip(us: number, src: Endpoint, dst: Endpoint, message: SipDraft): void {
    const key = message.kind === "request" ? message.method : String(message.status);
    this.sipCounts.set(key, (this.sipCounts.get(key) ?? 0) + 1);
    this.frame(us, src, dst, encodeSipMessage(message), 26);
  }

  challenge(): { realm: string; nonce: string; qop?: "auth"; opaque?: string } {
    return {
      realm: this.site.realm,
      nonce: this.random.hex(32),
      ...(this.site.qop ? { qop: "auth" as const } : {}),
      ...(this.site.opaque !== undefined ? { opaque: this.site.opaque } : {}),
    };
  }

  /**
   * REGISTER → 401 → REGISTER with credentials → 200, from `us`.
   *
   * @returns The time of the 200.
   */
  register(us: number, phone: PhoneProfile, callId?: string): number {
    const site = this.site;
    const aor = `sip:${phone.user}@${site.serverIp}`;
    const phoneEnd = { ip: phone.ip, port: phone.sipPort };
    const dialog = new SipDialog({
      callId: callId ?? site.registerCallId(this.random, phone),
      random: this.random,
      newBranch: () => site.branch(this.random),
      requestUri: site.registerUriPort
        ? `sip:${site.serverIp}:${site.serverPort}`
        : `sip:${site.serverIp}`,
      caller: {
        uri: aor,
        displayName: phone.displayName,
        tag: site.tag(this.random),
        contact: `sip:${phone.user}@${phone.ip}:${phone.sipPort}`,
        host: phone.ip,
        port: phone.sipPort,
        rport: true,
        userAgent: site.phoneAgent,
        allow: PHONE_ALLOW,
        cseq: this.random.int(1, 60),
      },
      callee: {
        uri: aor,
        displayName: phone.displayName,
        tag: site.tag(this.random),
        contact: `sip:${site.serverIp}:${site.serverPort}`,
        host: site.serverIp,
        port: site.serverPort,
        server: site.serverAgent,
      },
    });
    const expires: SipHeaders = [["Expires", String(site.expires)]];
    const first = dialog.request("caller", "REGISTER", { headers: expires });
    this.sip(us, phoneEnd, this.server, first);
    const challenge = this.challenge();
    const denied = dialog.respond(first, 401, {
      toTag: site.tag(this.random),
      headers: [["WWW-Authenticate", formatDigestChallenge(challenge)]],
    });
    this.sip(us + ms(3.2), this.server, phoneEnd, denied);
    const credentials = digestCredentials({
      username: phone.user,
      password: phone.password,
      challenge,
      method: "REGISTER",
      uri: first.uri,
      cnonce: this.random.hex(8),
    });
    const second = dialog.resend(first, { headers: [["Authorization", credentials]] });
    this.sip(us + ms(17.6), phoneEnd, this.server, second);
    const ok = dialog.respond(second, 200, {
      toTag: site.tag(this.random),
      headers: [
        ["Contact", `<sip:${phone.user}@${phone.ip}:${phone.sipPort}>;expires=${site.expires}`],
        ["Date", new Date(us / 1000).toUTCString()],
      ],
    });
    this.sip(us + ms(22.9), this.server, phoneEnd, ok);
    return us + ms(22.9);
  }

  /** Registers phone A, then phone B 0.1 s later. */
  registerBoth(us: number): number {
    this.register(us, this.site.phoneA);
    return this.register(us + ms(104.7), this.site.phoneB);
  }

  leg(options: LegOptions): Leg {
    const leg = new Leg(this, options);
    this.legs.push(leg);
    return leg;
  }

  async write(dir: string): Promise<CaptureSummary> {
    this.#frames.sort((a, b) => a.us - b.us || a.order - b.order);
    const path = `${dir}/${this.file}`;
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const writer = new PcapngWriter(file, {
      section: {
        comment: this.#comment,
        application: "packetwave tools/synth/seed_scenarios.ts",
      },
    });
    await writer.addInterface({ name: "eth0", tsResolution: this.site.tsResolution });
    for (const f of this.#frames) await writer.writePacket(BigInt(f.us) * 1000n, f.data);
    await writer.close();
    const first = this.#frames[0]?.us ?? 0;
    const last = this.#frames[this.#frames.length - 1]?.us ?? 0;
    return {
      file: this.file,
      packets: writer.packetsWritten,
      bytes: writer.bytesWritten,
      sipCounts: Object.fromEntries([...this.sipCounts].sort(([a], [b]) => a.localeCompare(b))),
      legs: this.legs.map((l) => l.summary()),
      span: [first / 1e6, last / 1e6],
    };
  }
}

/** How a leg is set up. */
interface LegOptions {
  /** Call-ID. */
  callId: string;
  /** The phone of the leg. */
  phone: PhoneProfile;
  /** Who sends the INVITE. */
  from: Role;
  /**
   * Server to phone: the user the server presents as the caller (From).
   * Phone to server: the user the phone dials (Request-URI and To).
   */
  remoteUser: string;
  /** Display name the server presents with `remoteUser` (server to phone only). */
  remoteDisplay?: string;
  /** Voice the server relays to the phone on this leg, Hz. */
  remoteHz: number;
}

/** One call leg between a phone and the server. */
class Leg {
  readonly script: CaptureScript;
  readonly dialog: SipDialog;
  readonly phone: PhoneProfile;
  readonly phoneSide: DialogSide;
  readonly phoneMedia: Endpoint;
  readonly serverMedia: Endpoint;
  readonly fromPhone: RtpSender;
  readonly toPhone: RtpSender;
  answered = false;
  readonly #sdpVersion: Record<Role, number>;
  readonly #sdpSession: Record<Role, number>;
  readonly #phoneJitter: SeededRandom;
  readonly #serverJitter: SeededRandom;

  constructor(script: CaptureScript, options: LegOptions) {
    const site = script.site;
    const random = script.random;
    this.script = script;
    this.phone = options.phone;
    const phone = options.phone;
    const phoneParty: DialogParty = {
      uri: options.from === "phone"
        ? `sip:${phone.user}@${site.serverIp}`
        : `sip:${phone.user}@${phone.ip}:${phone.sipPort}`,
      displayName: options.from === "phone" ? phone.displayName : undefined,
      tag: site.tag(random),
      contact: `sip:${phone.user}@${phone.ip}:${phone.sipPort}`,
      host: phone.ip,
      port: phone.sipPort,
      rport: true,
      userAgent: site.phoneAgent,
      allow: PHONE_ALLOW,
      supported: "replaces, timer",
      cseq: random.int(1, 40),
    };
    const serverParty: DialogParty = {
      uri: `sip:${options.remoteUser}@${site.serverIp}`,
      displayName: options.from === "server" ? options.remoteDisplay : undefined,
      tag: site.tag(random),
      contact: `sip:${options.remoteUser}@${site.serverIp}:${site.serverPort}`,
      host: site.serverIp,
      port: site.serverPort,
      userAgent: site.serverAgent,
      server: site.serverAgent,
      allow: SERVER_ALLOW,
      supported: "replaces",
      cseq: random.int(100, 900),
    };
    this.phoneSide = options.from === "phone" ? "caller" : "callee";
    this.dialog = new SipDialog({
      callId: options.callId,
      random,
      newBranch: () => site.branch(random),
      caller: options.from === "phone" ? phoneParty : serverParty,
      callee: options.from === "phone" ? serverParty : phoneParty,
      requestUri: options.from === "phone"
        ? `sip:${options.remoteUser}@${site.serverIp}:${site.serverPort}`
        : phoneParty.uri,
    });
    this.phoneMedia = { ip: phone.ip, port: script.mediaPort(phone.ip, phone.rtpPort) };
    this.serverMedia = {
      ip: site.serverIp,
      port: script.mediaPort(site.serverIp, site.serverRtpPort),
    };
    this.fromPhone = new RtpSender({
      ssrc: random.uint32(),
      payloadType: site.payloadType,
      sequence: random.int(0, 65535),
      timestamp: random.uint32(),
      frequency: phone.voiceHz,
    });
    this.toPhone = new RtpSender({
      ssrc: random.uint32(),
      payloadType: site.payloadType,
      sequence: random.int(0, 65535),
      timestamp: random.uint32(),
      frequency: options.remoteHz,
    });
    this.#sdpVersion = { phone: random.int(1, 9), server: random.int(1, 9) };
    this.#sdpSession = { phone: random.int(1000, 99999), server: random.int(100000, 999999) };
    this.#phoneJitter = new SeededRandom(random.uint32());
    this.#serverJitter = new SeededRandom(random.uint32());
  }

  get callId(): string {
    return this.dialog.callId;
  }

  #role(side: DialogSide): Role {
    return side === this.phoneSide ? "phone" : "server";
  }

  #side(role: Role): DialogSide {
    return role === "phone" ? this.phoneSide : (this.phoneSide === "caller" ? "callee" : "caller");
  }

  /** Emits a message of this leg from whichever side built it. */
  send(us: number, message: SipDraft): void {
    const sender = this.#role(this.dialog.senderOf(message));
    const phone = { ip: this.phone.ip, port: this.phone.sipPort };
    if (sender === "phone") this.script.sip(us, phone, this.script.server, message);
    else this.script.sip(us, this.script.server, phone, message);
  }

  /** An SDP body from one side; each call is a new offer or answer (version + 1). */
  sdp(role: Role, direction: SdpDirection, offer: boolean, repeat = false): string {
    if (!repeat) this.#sdpVersion[role] += 1;
    const media = role === "phone" ? this.phoneMedia : this.serverMedia;
    const site = this.script.site;
    return buildSdp({
      username: role === "phone" ? this.phone.user : "-",
      sessionId: this.#sdpSession[role],
      sessionVersion: this.#sdpVersion[role],
      address: media.ip,
      port: media.port,
      payloadTypes: offer ? site.offerPayloadTypes : [site.payloadType],
      direction,
    });
  }

  /** The first INVITE, with an SDP offer from the calling side. */
  invite(us: number, headers: SipHeaders = []): SipRequestDraft {
    const role = this.#role("caller");
    const invite = this.dialog.invite({ headers, body: this.sdp(role, "sendrecv", true) });
    this.send(us, invite);
    return invite;
  }

  /** A new request from one side (re-INVITE with an SDP offer when `direction` is given). */
  request(
    us: number,
    role: Role,
    method: string,
    options: { direction?: SdpDirection; headers?: SipHeaders; body?: string; type?: string } = {},
  ): SipRequestDraft {
    const body = options.direction !== undefined
      ? this.sdp(role, options.direction, true)
      : options.body;
    const request = this.dialog.request(this.#side(role), method, {
      headers: options.headers,
      body,
      contentType: options.type,
    });
    this.send(us, request);
    return request;
  }

  /** A response; with `direction`, it carries an SDP answer (`repeat`: the same as before). */
  reply(
    us: number,
    request: SipRequestDraft,
    status: number,
    options: {
      direction?: SdpDirection;
      repeat?: boolean;
      headers?: SipHeaders;
      toTag?: string | null;
    } = {},
  ): SipResponseDraft {
    const responder = this.#role(this.dialog.senderOf(request) === "caller" ? "callee" : "caller");
    const body = options.direction !== undefined
      ? this.sdp(responder, options.direction, false, options.repeat)
      : undefined;
    const response = this.dialog.respond(request, status, {
      body,
      headers: options.headers,
      toTag: options.toTag,
    });
    if (
      status === 200 && request.method === "INVITE" &&
      getHeader(request, "To")?.includes(";tag=") ===
        false
    ) {
      this.answered = true;
    }
    this.send(us, response);
    return response;
  }

  ack(us: number, invite: SipRequestDraft, response: SipResponseDraft): SipRequestDraft {
    const ack = this.dialog.ack(invite, response);
    this.send(us, ack);
    return ack;
  }

  cancel(us: number, invite: SipRequestDraft, headers: SipHeaders = []): SipRequestDraft {
    const cancel = this.dialog.cancel(invite, { headers });
    this.send(us, cancel);
    return cancel;
  }

  /**
   * The server challenges the phone's INVITE (401 or 407), the phone ACKs and
   * sends it again with credentials.
   *
   * @returns The re-sent INVITE; it is sent at `us` + 28 ms.
   */
  challenged(us: number, invite: SipRequestDraft, status: 401 | 407): SipRequestDraft {
    const script = this.script;
    const challenge = script.challenge();
    const ask = status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate";
    const answer = status === 407 ? "Proxy-Authorization" : "Authorization";
    const denied = this.reply(us + ms(5.1), invite, status, {
      toTag: script.site.tag(script.random),
      headers: [[ask, formatDigestChallenge(challenge)]],
    });
    this.ack(us + ms(24.3), invite, denied);
    const credentials = digestCredentials({
      username: this.phone.user,
      password: this.phone.password,
      challenge,
      method: "INVITE",
      uri: invite.uri,
      cnonce: script.random.hex(8),
    });
    const again = this.dialog.resend(invite, { headers: [[answer, credentials]] });
    this.send(us + ms(28.1), again);
    return again;
  }

  /** RTP from one side or both over [startUs, endUs). */
  media(startUs: number, endUs: number, who: Role | "both"): void {
    const script = this.script;
    if (who !== "server") {
      const jitter = this.#phoneJitter;
      for (
        const p of this.fromPhone.span(startUs / 1e6, endUs / 1e6, {
          jitter: () => (jitter.next() - 0.5) * 0.0003,
        })
      ) {
        script.frame(Math.round(p.time * 1e6), this.phoneMedia, this.serverMedia, p.packet, 46);
      }
    }
    if (who !== "phone") {
      const jitter = this.#serverJitter;
      for (
        const p of this.toPhone.span(startUs / 1e6, endUs / 1e6, {
          jitter: () => (jitter.next() - 0.5) * 0.0016,
        })
      ) {
        script.frame(Math.round(p.time * 1e6), this.serverMedia, this.phoneMedia, p.packet, 46);
      }
    }
  }

  summary(): LegSummary {
    return {
      callId: this.callId,
      answered: this.answered,
      phoneMedia: `${this.phoneMedia.ip}:${this.phoneMedia.port}`,
      serverMedia: `${this.serverMedia.ip}:${this.serverMedia.port}`,
      phoneRtpPackets: this.fromPhone.packetsProduced,
      serverRtpPackets: this.toPhone.packetsProduced,
    };
  }
}

/**
 * An answered call from the server to a phone: INVITE → 100 → 180 → (rings) → 200 → ACK.
 * Media starts right after the answer.
 *
 * @returns The INVITE and the times of the 200 and of the ACK.
 */
function inboundAnswered(
  leg: Leg,
  us: number,
  ringMs: number,
): { invite: SipRequestDraft; answered: number; acked: number } {
  const invite = leg.invite(us);
  leg.reply(us + ms(3.4), invite, 100);
  leg.reply(us + ms(71.8), invite, 180);
  const answered = us + ms(71.8 + ringMs);
  const ok = leg.reply(answered, invite, 200, { direction: "sendrecv" });
  leg.ack(answered + ms(4.2), invite, ok);
  return { invite, answered, acked: answered + ms(4.2) };
}

/** Ends an answered leg: BYE from `by` at `us`, 200 from the other side; media until then. */
function hangUp(leg: Leg, us: number, by: Role, mediaFrom: number): number {
  const bye = leg.request(us, by, "BYE");
  const other: Role = by === "phone" ? "server" : "phone";
  leg.reply(us + ms(by === "phone" ? 4.6 : 21.3), bye, 200);
  // The side that hangs up stops at once; the other when the BYE arrives.
  leg.media(mediaFrom, us, by);
  leg.media(mediaFrom, us + ms(2), other);
  return us + ms(25);
}

/** Seed 1, 일반 통화: the server calls B (01077141436 → 1427), B answers and hangs up. */
function seedNormal(): CaptureScript {
  const s = new CaptureScript(
    "1-normal.pcapng",
    SEED_SITE,
    "packetwave synthetic seed 1 (normal call), rebuilt from scenario-analysis-report.ko.md",
  );
  const site = s.site;
  s.registerBoth(s.at("13:20:32.104"));
  const leg = s.leg({
    callId: "96db19bd9345577c18e5cadf995552e19ae84a3c@112.222.225.77",
    phone: site.phoneB,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const call = inboundAnswered(leg, s.at("13:21:05.012"), 3790);
  hangUp(leg, s.at("13:21:13.902"), "phone", call.answered + ms(18));
  return s;
}

/** Seed 2, 돌려주기: B answers, holds, REFERs the caller to 1428 (blind); the server calls A. */
function seedTransfer(): CaptureScript {
  const s = new CaptureScript(
    "2-transfer.pcapng",
    SEED_SITE,
    "packetwave synthetic seed 2 (blind transfer), rebuilt from scenario-analysis-report.ko.md",
  );
  const site = s.site;
  const b = site.phoneB;
  s.registerBoth(s.at("13:23:02.087"));
  const first = s.leg({
    callId: "e091034a9f3bf6810bb0bf992c0a15e9eacf874f@112.222.225.77",
    phone: b,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const call = inboundAnswered(first, s.at("13:23:32.607"), 3110);
  // Hold: B offers sendonly, the server answers recvonly; no RTP while held.
  const holdAt = s.at("13:23:38.961");
  first.media(call.answered + ms(17), holdAt, "phone");
  first.media(call.acked + ms(3), holdAt + ms(4), "server");
  const hold = first.request(holdAt, "phone", "INVITE", { direction: "sendonly" });
  const holdOk = first.reply(holdAt + ms(4.1), hold, 200, { direction: "recvonly" });
  first.ack(holdAt + ms(27.7), hold, holdOk);
  // REFER (blind: Refer-To without Replaces) → 202 → NOTIFY 100 Trying.
  const referAt = s.at("13:23:41.207");
  const refer = first.request(referAt, "phone", "REFER", {
    headers: [
      ["Refer-To", `<sip:${site.phoneA.extension}@${site.serverIp}:${site.serverPort}>`],
      ["Referred-By", `"${b.displayName}" <sip:${b.user}@${site.serverIp}>`],
    ],
  });
  first.reply(referAt + ms(4.8), refer, 202);
  const sipfrag = "message/sipfrag;version=2.0";
  const notify1 = first.request(referAt + ms(7.9), "server", "NOTIFY", {
    headers: [["Event", "refer"], ["Subscription-State", "active;expires=60"]],
    body: sipfragBody(100),
    type: sipfrag,
  });
  first.reply(referAt + ms(26.5), notify1, 200);
  // The new INVITE to the target, A, still from the original caller.
  const second = s.leg({
    callId: "9bdffcde4d1683688a469de826eaa422e6034f38@112.222.225.77",
    phone: site.phoneA,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const target = inboundAnswered(second, referAt + ms(13.6), 6240);
  // Transfer done: NOTIFY 200 OK ends the subscription; B hangs up its leg.
  const notify2 = first.request(target.answered + ms(9.4), "server", "NOTIFY", {
    headers: [["Event", "refer"], ["Subscription-State", "terminated;reason=noresource"]],
    body: sipfragBody(200),
    type: sipfrag,
  });
  first.reply(target.answered + ms(31.2), notify2, 200);
  const byeB = first.request(target.answered + ms(58.5), "phone", "BYE");
  first.reply(target.answered + ms(62.9), byeB, 200);
  // The caller hangs up at the end: the server sends BYE to A.
  hangUp(second, s.at("13:23:52.918"), "server", target.answered + ms(16));
  return s;
}

/** Seed 3, 당겨받기: the server calls B, which rings; A dials *8 and gets the call; B is cancelled. */
function seedPickup(): CaptureScript {
  const s = new CaptureScript(
    "3-pickup.pcapng",
    SEED_SITE,
    "packetwave synthetic seed 3 (call pickup *8), rebuilt from scenario-analysis-report.ko.md",
  );
  const site = s.site;
  s.registerBoth(s.at("13:24:42.215"));
  const ringing = s.leg({
    callId: "382ad64ab9c70d7cf859b97a7e408397b8e72d8b@112.222.225.77",
    phone: site.phoneB,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const inviteAt = s.at("13:24:58.307");
  const inviteB = ringing.invite(inviteAt);
  ringing.reply(inviteAt + ms(3.1), inviteB, 100);
  ringing.reply(inviteAt + ms(69.5), inviteB, 180);
  // A presses pickup: INVITE sip:*8@server with X-xfer-pressed, challenged with 407.
  const pickup = s.leg({
    callId: "dbcf549ba00ffeeddf00c5d9c0be16c9@192.168.0.54",
    phone: site.phoneA,
    from: "phone",
    remoteUser: "*8",
    remoteHz: SEED_CALLER_HZ,
  });
  const pickAt = s.at("13:25:04.331");
  const xfer: SipHeaders = [["X-xfer-pressed", "True"]];
  const first = pickup.invite(pickAt, xfer);
  const again = pickup.challenged(pickAt, first, 407);
  pickup.reply(pickAt + ms(33.4), again, 100);
  // The server cancels B's ringing leg, then connects the caller to A.
  const cancel = ringing.cancel(pickAt + ms(36.8), inviteB);
  ringing.reply(pickAt + ms(41.5), cancel, 200);
  const terminated = ringing.reply(pickAt + ms(43.2), inviteB, 487);
  ringing.ack(pickAt + ms(46.0), inviteB, terminated);
  const answered = pickAt + ms(55.7);
  const ok = pickup.reply(answered, again, 200, { direction: "sendrecv" });
  pickup.ack(answered + ms(19.8), again, ok);
  hangUp(pickup, s.at("13:25:09.874"), "server", answered + ms(14));
  return s;
}

/**
 * Seed 4, 3자통화, on the report's own timeline (times, Call-IDs, From values):
 * the server calls B; B holds; B calls 1428 (407, X-xfer-pressed); the server
 * calls A and sends 183 to B; A answers; B resumes; A, then the server, then B hang up.
 */
function seedConference(): CaptureScript {
  const s = new CaptureScript(
    "4-conference.pcapng",
    SEED_SITE,
    "packetwave synthetic seed 4 (3-way conference), rebuilt from the timeline of " +
      "scenario-analysis-report.ko.md",
  );
  const site = s.site;
  const a = site.phoneA;
  const b = site.phoneB;
  const t = (clock: string) => s.at(clock);
  // Phase 1: registration.
  s.register(t("13:28:52.118"), a);
  s.register(t("13:28:52.231"), b);
  // Phase 2: the caller reaches B.
  const master = s.leg({
    callId: "3749d4615995b7dd49e372fb68e7e0175cf17532@112.222.225.77",
    phone: b,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const invite1 = master.invite(t("13:28:55.736"));
  master.reply(t("13:28:55.739") + 412, invite1, 100);
  master.reply(t("13:28:55.810"), invite1, 180);
  const ok1 = master.reply(t("13:28:58.638"), invite1, 200, { direction: "sendrecv" });
  master.ack(t("13:28:58.642"), invite1, ok1);
  // Phase 3: B holds the caller.
  master.media(t("13:28:58.655"), t("13:29:00.932"), "phone");
  master.media(t("13:28:58.648"), t("13:29:00.936"), "server");
  const hold = master.request(t("13:29:00.932"), "phone", "INVITE", { direction: "sendonly" });
  const holdOk = master.reply(t("13:29:00.936"), hold, 200, { direction: "recvonly" });
  master.ack(t("13:29:00.960"), hold, holdOk);
  // Phase 4: B invites the third party, 1428.
  const conf = s.leg({
    callId: "e513679c03fd1e63f526dbef61d0f119@192.168.0.55",
    phone: b,
    from: "phone",
    remoteUser: a.extension,
    remoteHz: a.voiceHz,
  });
  const xfer: SipHeaders = site.xferPressed ? [["X-xfer-pressed", "True"]] : [];
  const invite2 = conf.invite(t("13:29:08.152"), xfer);
  const challenge = s.challenge();
  const denied = conf.reply(t("13:29:08.157"), invite2, 407, {
    toTag: site.tag(s.random),
    headers: [["Proxy-Authenticate", formatDigestChallenge(challenge)]],
  });
  conf.ack(t("13:29:08.176"), invite2, denied);
  const again = conf.dialog.resend(invite2, {
    headers: [[
      "Proxy-Authorization",
      digestCredentials({
        username: b.user,
        password: b.password,
        challenge,
        method: "INVITE",
        uri: invite2.uri,
        cnonce: s.random.hex(8),
      }),
    ]],
  });
  conf.send(t("13:29:08.180"), again);
  // Phase 5: the server calls A (From "1427") and gives B early media.
  conf.reply(t("13:29:08.186"), again, 100);
  const bridge = s.leg({
    callId: "3994c646417274495d9f25853d409d2a51cac25d@112.222.225.77",
    phone: a,
    from: "server",
    remoteUser: b.extension,
    remoteDisplay: b.extension,
    remoteHz: b.voiceHz,
  });
  const invite3 = bridge.invite(t("13:29:08.190") + 118);
  conf.reply(t("13:29:08.190") + 604, again, 183, { direction: "sendrecv" });
  const ringback = new RtpSender({
    ssrc: s.random.uint32(),
    payloadType: site.payloadType,
    sequence: s.random.int(0, 65535),
    timestamp: s.random.uint32(),
    frequency: SEED_RINGBACK_HZ,
  });
  for (const p of ringback.span(t("13:29:08.210") / 1e6, t("13:29:09.519") / 1e6)) {
    s.frame(Math.round(p.time * 1e6), conf.serverMedia, conf.phoneMedia, p.packet, 46);
  }
  bridge.reply(t("13:29:08.223"), invite3, 100);
  bridge.reply(t("13:29:08.273"), invite3, 180);
  // Phase 6: A answers; the server answers B.
  const ok3 = bridge.reply(t("13:29:09.496"), invite3, 200, { direction: "sendrecv" });
  bridge.ack(t("13:29:09.500"), invite3, ok3);
  const ok2 = conf.reply(t("13:29:09.519"), again, 200, { direction: "sendrecv", repeat: true });
  conf.ack(t("13:29:09.550"), again, ok2);
  // Phase 7: B resumes the caller: all three talk.
  const resume = master.request(t("13:29:13.192"), "phone", "INVITE", { direction: "sendrecv" });
  const resumeOk = master.reply(t("13:29:13.197"), resume, 200, { direction: "sendrecv" });
  master.ack(t("13:29:13.222"), resume, resumeOk);
  master.media(t("13:29:13.203"), t("13:29:26.938"), "server");
  master.media(t("13:29:13.229"), t("13:29:26.938"), "phone");
  // Phase 8: A hangs up; the server releases B's conference leg; B ends the original call.
  hangUp(bridge, t("13:29:26.706"), "phone", t("13:29:09.508"));
  const byeConf = conf.request(t("13:29:26.710"), "server", "BYE");
  conf.reply(t("13:29:26.734"), byeConf, 200);
  conf.media(t("13:29:09.531"), t("13:29:26.710"), "server");
  conf.media(t("13:29:09.556"), t("13:29:26.712"), "phone");
  const byeMaster = master.request(t("13:29:26.938"), "phone", "BYE");
  master.reply(t("13:29:26.942"), byeMaster, 200);
  return s;
}

/**
 * Seed 5, 순차착신: B is on a call from 0212345678; a second call, from
 * 01077141436, gets 486 Busy Here from B; the server tries A, which answers.
 * The phones' registrations, made at the start, are refreshed three minutes later.
 */
function seedSequential(): CaptureScript {
  const s = new CaptureScript(
    "5-sequential.pcapng",
    SEED_SITE,
    "packetwave synthetic seed 5 (sequential ring after 486), rebuilt from " +
      "scenario-analysis-report.ko.md",
  );
  const site = s.site;
  const regA = site.registerCallId(s.random, site.phoneA);
  const regB = site.registerCallId(s.random, site.phoneB);
  s.register(s.at("13:31:22.306"), site.phoneA, regA);
  s.register(s.at("13:31:22.411"), site.phoneB, regB);
  const busyCall = s.leg({
    callId: "a5bd0389da27d6bd9c3c758944eb6b0285af1bd7@112.222.225.77",
    phone: site.phoneB,
    from: "server",
    remoteUser: "0212345678",
    remoteDisplay: "0212345678",
    remoteHz: SEED_OTHER_CALLER_HZ,
  });
  const first = inboundAnswered(busyCall, s.at("13:33:43.870"), 2460);
  // The second call finds B busy.
  const rejected = s.leg({
    callId: "c3fa81308b3604982aced1267f4d6c85d7b4914f@112.222.225.77",
    phone: site.phoneB,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const busyAt = s.at("13:33:47.318");
  const inviteBusy = rejected.invite(busyAt);
  rejected.reply(busyAt + ms(3.0), inviteBusy, 100);
  const busy = rejected.reply(busyAt + ms(12.6), inviteBusy, 486);
  rejected.ack(busyAt + ms(15.9), inviteBusy, busy);
  // The server hunts on to A.
  const hunted = s.leg({
    callId: "a4778752e6bfd1499119c440ec45f286cf235d08@112.222.225.77",
    phone: site.phoneA,
    from: "server",
    remoteUser: "01077141436",
    remoteDisplay: "01077141436",
    remoteHz: SEED_CALLER_HZ,
  });
  const second = inboundAnswered(hunted, busyAt + ms(31.2), 2540);
  hangUp(busyCall, s.at("13:33:50.206"), "phone", first.answered + ms(15));
  hangUp(hunted, s.at("13:33:54.133"), "server", second.answered + ms(12));
  s.register(s.at("13:34:21.052"), site.phoneA, regA);
  s.register(s.at("13:34:21.163"), site.phoneB, regB);
  return s;
}

/** Variant 1: an outgoing call from A to an outside number; 401 on the INVITE; early media; the far end hangs up. */
function variantNormal(): CaptureScript {
  const s = new CaptureScript(
    "1-normal-variant.pcapng",
    VARIANT_SITE,
    "packetwave synthetic variant 1 (normal outgoing call), second site",
  );
  const site = s.site;
  s.registerBoth(s.at("10:02:11.530"));
  const leg = s.leg({
    callId: "aa928543-61161f67@10.20.30.51",
    phone: site.phoneA,
    from: "phone",
    remoteUser: "0319876543",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const at = s.at("10:02:19.004");
  const invite = leg.invite(at);
  const again = leg.challenged(at, invite, 401);
  leg.reply(at + ms(31.7), again, 100);
  // Early media: the far end's ringback, then the answer with the same SDP.
  const progress = at + ms(802.5);
  leg.reply(progress, again, 183, { direction: "sendrecv" });
  const ringback = new RtpSender({
    ssrc: s.random.uint32(),
    payloadType: site.payloadType,
    sequence: s.random.int(0, 65535),
    timestamp: s.random.uint32(),
    frequency: VARIANT_RINGBACK_HZ,
  });
  const answered = progress + ms(2130);
  for (const p of ringback.span((progress + ms(12)) / 1e6, answered / 1e6)) {
    s.frame(Math.round(p.time * 1e6), leg.serverMedia, leg.phoneMedia, p.packet, 46);
  }
  const ok = leg.reply(answered, again, 200, { direction: "sendrecv", repeat: true });
  leg.ack(answered + ms(6.6), again, ok);
  hangUp(leg, answered + ms(3570), "server", answered + ms(8));
  return s;
}

/**
 * Variant 2: an attended transfer. B answers, holds, calls 2001 to consult,
 * then REFERs the caller with Refer-To ...?Replaces=(consultation dialog); the
 * server sends A an INVITE with Replaces for its consultation leg, and A
 * drops the replaced leg.
 */
function variantTransfer(): CaptureScript {
  const s = new CaptureScript(
    "2-transfer-variant.pcapng",
    VARIANT_SITE,
    "packetwave synthetic variant 2 (attended transfer with Replaces), second site",
  );
  const site = s.site;
  const a = site.phoneA;
  const b = site.phoneB;
  s.registerBoth(s.at("10:14:40.215"));
  const first = s.leg({
    callId: "ea185649-a0c5-459b-b357-9343b896fa4d",
    phone: b,
    from: "server",
    remoteUser: "0287654321",
    remoteDisplay: "홍길동",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const call = inboundAnswered(first, s.at("10:14:52.402"), 1870);
  const holdAt = call.answered + ms(2410);
  first.media(call.answered + ms(21), holdAt, "phone");
  first.media(call.acked + ms(2), holdAt + ms(9), "server");
  const hold = first.request(holdAt, "phone", "INVITE", { direction: "sendonly" });
  first.reply(holdAt + ms(7.7), hold, 100);
  const holdOk = first.reply(holdAt + ms(9.3), hold, 200, { direction: "recvonly" });
  first.ack(holdAt + ms(15.2), hold, holdOk);
  // Consultation: B calls 2001; the server calls A.
  const consultB = s.leg({
    callId: "ae9f6b46-71217c47@10.20.30.52",
    phone: b,
    from: "phone",
    remoteUser: a.extension,
    remoteHz: a.voiceHz,
  });
  const dialAt = holdAt + ms(1650);
  const invite2 = consultB.invite(dialAt);
  const again = consultB.challenged(dialAt, invite2, 407);
  consultB.reply(dialAt + ms(34.0), again, 100);
  const consultA = s.leg({
    callId: "007b689e-4b10-43ae-8282-383143d691a2",
    phone: a,
    from: "server",
    remoteUser: b.extension,
    remoteDisplay: b.displayName,
    remoteHz: b.voiceHz,
  });
  const invite3 = consultA.invite(dialAt + ms(39.5));
  consultA.reply(dialAt + ms(43.1), invite3, 100);
  consultA.reply(dialAt + ms(95.2), invite3, 180);
  consultB.reply(dialAt + ms(99.0), again, 180);
  const answeredA = dialAt + ms(1920);
  const ok3 = consultA.reply(answeredA, invite3, 200, { direction: "sendrecv" });
  consultA.ack(answeredA + ms(3.1), invite3, ok3);
  const ok2 = consultB.reply(answeredA + ms(6.4), again, 200, { direction: "sendrecv" });
  consultB.ack(answeredA + ms(18.8), again, ok2);
  // B transfers: REFER with Replaces naming its consultation dialog (to-tag = the server's).
  const referAt = answeredA + ms(2170);
  const replaces = `${consultB.callId};to-tag=${consultB.dialog.party("callee").tag};from-tag=${
    consultB.dialog.party("caller").tag
  }`;
  const referTo = `<sip:${a.extension}@${site.serverIp}:${site.serverPort}?Replaces=${
    encodeURIComponent(replaces)
  }>`;
  const refer = first.request(referAt, "phone", "REFER", {
    headers: [
      ["Refer-To", referTo],
      ["Referred-By", `<sip:${b.user}@${site.serverIp}>`],
    ],
  });
  first.reply(referAt + ms(6.0), refer, 202);
  const sipfrag = "message/sipfrag;version=2.0";
  const notify1 = first.request(referAt + ms(9.2), "server", "NOTIFY", {
    headers: [["Event", "refer"], ["Subscription-State", "active;expires=120"]],
    body: sipfragBody(100),
    type: sipfrag,
  });
  first.reply(referAt + ms(24.0), notify1, 200);
  // The server brings the caller to A: INVITE with Replaces for A's consultation dialog.
  const joined = s.leg({
    callId: "92b27b2f-a334-4fc6-8e68-2899d1fac272",
    phone: a,
    from: "server",
    remoteUser: "0287654321",
    remoteDisplay: "홍길동",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const replacesA = `${consultA.callId};to-tag=${consultA.dialog.party("callee").tag};from-tag=${
    consultA.dialog.party("caller").tag
  }`;
  const inviteAt = referAt + ms(12.3);
  const invite4 = joined.invite(inviteAt, [["Replaces", replacesA], ["Require", "replaces"]]);
  joined.reply(inviteAt + ms(2.9), invite4, 100);
  const answered4 = inviteAt + ms(40.6);
  const ok4 = joined.reply(answered4, invite4, 200, { direction: "sendrecv" });
  joined.ack(answered4 + ms(3.5), invite4, ok4);
  // A drops the replaced dialog; the server drops B's consultation leg, reports success, B leaves.
  const consultEnd = answered4 + ms(11.0);
  hangUp(consultA, consultEnd, "phone", answeredA + ms(10));
  const byeB2 = consultB.request(consultEnd + ms(6.2), "server", "BYE");
  consultB.reply(consultEnd + ms(27.5), byeB2, 200);
  consultB.media(answeredA + ms(26), consultEnd + ms(6.2), "both");
  const notify2 = first.request(consultEnd + ms(9.9), "server", "NOTIFY", {
    headers: [["Event", "refer"], ["Subscription-State", "terminated;reason=noresource"]],
    body: sipfragBody(200),
    type: sipfrag,
  });
  first.reply(consultEnd + ms(30.1), notify2, 200);
  const byeB1 = first.request(consultEnd + ms(61.4), "phone", "BYE");
  first.reply(consultEnd + ms(68.0), byeB1, 200);
  // Caller and A talk; A hangs up.
  hangUp(joined, answered4 + ms(3380), "phone", answered4 + ms(10));
  return s;
}

/**
 * Variant 3: call pickup with `**5`, no X-xfer-pressed; the server answers A
 * before it cancels B (with a Reason header).
 */
function variantPickup(): CaptureScript {
  const s = new CaptureScript(
    "3-pickup-variant.pcapng",
    VARIANT_SITE,
    "packetwave synthetic variant 3 (call pickup **5), second site",
  );
  const site = s.site;
  s.registerBoth(s.at("10:27:03.911"));
  const ringing = s.leg({
    callId: "8fd764c9-b619-4c34-a9b7-ba96df8dfdb1",
    phone: site.phoneB,
    from: "server",
    remoteUser: "0287654321",
    remoteDisplay: "홍길동",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const inviteAt = s.at("10:27:09.140");
  const inviteB = ringing.invite(inviteAt);
  ringing.reply(inviteAt + ms(2.2), inviteB, 100);
  ringing.reply(inviteAt + ms(48.8), inviteB, 180);
  const pickup = s.leg({
    callId: "e3659650-2285028b@10.20.30.51",
    phone: site.phoneA,
    from: "phone",
    remoteUser: "**5",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const pickAt = inviteAt + ms(3520);
  const first = pickup.invite(pickAt);
  const again = pickup.challenged(pickAt, first, 407);
  pickup.reply(pickAt + ms(30.9), again, 100);
  const answered = pickAt + ms(44.1);
  const ok = pickup.reply(answered, again, 200, { direction: "sendrecv" });
  pickup.ack(answered + ms(12.7), again, ok);
  const cancel = ringing.cancel(answered + ms(2.4), inviteB, [
    ["Reason", 'SIP;cause=200;text="Call completed elsewhere"'],
  ]);
  ringing.reply(answered + ms(7.0), cancel, 200);
  const terminated = ringing.reply(answered + ms(8.1), inviteB, 487);
  ringing.ack(answered + ms(10.5), inviteB, terminated);
  hangUp(pickup, answered + ms(3930), "phone", answered + ms(15));
  return s;
}

/**
 * Variant 4: the 3-way conference without X-xfer-pressed and with 180 (no
 * early media) to B; the caller leaves first, then B hangs up, which ends A's leg.
 */
function variantConference(): CaptureScript {
  const s = new CaptureScript(
    "4-conference-variant.pcapng",
    VARIANT_SITE,
    "packetwave synthetic variant 4 (3-way conference), second site",
  );
  const site = s.site;
  const a = site.phoneA;
  const b = site.phoneB;
  s.registerBoth(s.at("10:40:15.377"));
  const master = s.leg({
    callId: "efd5a96c-0b0d-4f39-809a-2904093ba83f",
    phone: b,
    from: "server",
    remoteUser: "0287654321",
    remoteDisplay: "홍길동",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const call = inboundAnswered(master, s.at("10:40:21.650"), 2210);
  const holdAt = call.answered + ms(1830);
  master.media(call.answered + ms(20), holdAt, "phone");
  master.media(call.acked + ms(4), holdAt + ms(6), "server");
  const hold = master.request(holdAt, "phone", "INVITE", { direction: "sendonly" });
  const holdOk = master.reply(holdAt + ms(5.5), hold, 200, { direction: "recvonly" });
  master.ack(holdAt + ms(17.0), hold, holdOk);
  const conf = s.leg({
    callId: "43648edf-56ba4f30@10.20.30.52",
    phone: b,
    from: "phone",
    remoteUser: a.extension,
    remoteHz: a.voiceHz,
  });
  const dialAt = holdAt + ms(2950);
  const invite2 = conf.invite(dialAt);
  const again = conf.challenged(dialAt, invite2, 407);
  conf.reply(dialAt + ms(33.2), again, 100);
  const bridge = s.leg({
    callId: "278937a2-b685-4094-afaa-565c5de9711f",
    phone: a,
    from: "server",
    remoteUser: b.extension,
    remoteDisplay: b.displayName,
    remoteHz: b.voiceHz,
  });
  const invite3 = bridge.invite(dialAt + ms(37.0));
  bridge.reply(dialAt + ms(40.4), invite3, 100);
  bridge.reply(dialAt + ms(88.1), invite3, 180);
  conf.reply(dialAt + ms(91.6), again, 180);
  const answeredA = dialAt + ms(1610);
  const ok3 = bridge.reply(answeredA, invite3, 200, { direction: "sendrecv" });
  bridge.ack(answeredA + ms(3.3), invite3, ok3);
  const ok2 = conf.reply(answeredA + ms(7.1), again, 200, { direction: "sendrecv" });
  conf.ack(answeredA + ms(20.6), again, ok2);
  const resumeAt = answeredA + ms(1180);
  const resume = master.request(resumeAt, "phone", "INVITE", { direction: "sendrecv" });
  const resumeOk = master.reply(resumeAt + ms(6.1), resume, 200, { direction: "sendrecv" });
  master.ack(resumeAt + ms(21.9), resume, resumeOk);
  // The caller leaves first; B and A talk a little longer; B hangs up; the server ends A's leg.
  const callerLeaves = resumeAt + ms(2420);
  hangUp(master, callerLeaves, "server", resumeAt + ms(24));
  const bEnds = callerLeaves + ms(1160);
  hangUp(conf, bEnds, "phone", answeredA + ms(25));
  hangUp(bridge, bEnds + ms(8.3), "server", answeredA + ms(9));
  return s;
}

/** Variant 5: sequential ring on no answer: B rings until the server CANCELs, then A is tried. */
function variantSequential(): CaptureScript {
  const s = new CaptureScript(
    "5-sequential-variant.pcapng",
    VARIANT_SITE,
    "packetwave synthetic variant 5 (sequential ring on no answer), second site",
  );
  const site = s.site;
  s.registerBoth(s.at("10:51:44.004"));
  const first = s.leg({
    callId: "690b0296-d427-41ae-a4be-9bf56623c9a1",
    phone: site.phoneB,
    from: "server",
    remoteUser: "0287654321",
    remoteDisplay: "홍길동",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const inviteAt = s.at("10:51:50.712");
  const inviteB = first.invite(inviteAt);
  first.reply(inviteAt + ms(2.6), inviteB, 100);
  first.reply(inviteAt + ms(51.3), inviteB, 180);
  const timeout = inviteAt + ms(12000);
  const cancel = first.cancel(timeout, inviteB);
  first.reply(timeout + ms(3.9), cancel, 200);
  const terminated = first.reply(timeout + ms(5.0), inviteB, 487);
  first.ack(timeout + ms(7.4), inviteB, terminated);
  const next = s.leg({
    callId: "b8f200ec-13f5-42f7-8d0d-fdbbb2d83ce1",
    phone: site.phoneA,
    from: "server",
    remoteUser: "0287654321",
    remoteDisplay: "홍길동",
    remoteHz: VARIANT_CALLER_HZ,
  });
  const call = inboundAnswered(next, timeout + ms(19.8), 2230);
  hangUp(next, call.answered + ms(3960), "phone", call.answered + ms(14));
  return s;
}

/** A scripted capture, ready to be written. */
export interface CaptureBuilder {
  /**
   * Writes the capture into a directory.
   *
   * @param dir An existing directory.
   * @returns What the capture holds.
   */
  write(dir: string): Promise<CaptureSummary>;
}

/** The captures, in the order they are written: file name and the function that scripts it. */
export const SEED_CAPTURES: ReadonlyArray<{ file: string; build: () => CaptureBuilder }> = [
  { file: "1-normal.pcapng", build: seedNormal },
  { file: "2-transfer.pcapng", build: seedTransfer },
  { file: "3-pickup.pcapng", build: seedPickup },
  { file: "4-conference.pcapng", build: seedConference },
  { file: "5-sequential.pcapng", build: seedSequential },
  { file: "1-normal-variant.pcapng", build: variantNormal },
  { file: "2-transfer-variant.pcapng", build: variantTransfer },
  { file: "3-pickup-variant.pcapng", build: variantPickup },
  { file: "4-conference-variant.pcapng", build: variantConference },
  { file: "5-sequential-variant.pcapng", build: variantSequential },
];

/**
 * Writes every capture into a directory.
 *
 * @param outDir Directory (created when missing).
 * @returns What each capture holds, in {@link SEED_CAPTURES} order.
 */
export async function generateSeedCaptures(outDir: string): Promise<CaptureSummary[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const out: CaptureSummary[] = [];
  for (const capture of SEED_CAPTURES) out.push(await capture.build().write(outDir));
  return out;
}

if (import.meta.main) {
  const outDir = Deno.args[0] ?? new URL("../../fixtures/seed", import.meta.url).pathname;
  const summaries = await generateSeedCaptures(outDir);
  let total = 0;
  for (const s of summaries) {
    total += s.bytes;
    const sip = Object.values(s.sipCounts).reduce((n, c) => n + c, 0);
    console.log(
      `${s.file.padEnd(30)} ${String(s.packets).padStart(6)} frames ${
        String(sip).padStart(4)
      } SIP ${String(s.legs.length).padStart(2)} legs ${
        (s.bytes / 1024).toFixed(0).padStart(6)
      } KiB`,
    );
  }
  console.log(`${summaries.length} captures, ${(total / 1024).toFixed(0)} KiB in ${outDir}`);
}
