/**
 * Counters of one analysis, kept in Maps while running (names from the wire
 * are never used as plain-object keys) and turned into a JSON-friendly
 * summary at the end.
 *
 * @module
 */

import { linkTypeName } from "./capture/link_types.ts";

/** A map of counts, with an increment that creates the entry. */
export class Counter<K> extends Map<K, number> {
  /**
   * Adds to a count.
   *
   * @param key What is counted.
   * @param by How much to add (default 1).
   */
  add(key: K, by = 1): void {
    this.set(key, (this.get(key) ?? 0) + by);
  }

  /** Sum of all counts. */
  total(): number {
    let sum = 0;
    for (const n of this.values()) sum += n;
    return sum;
  }

  /** Counts as a plain object, largest first, keys as strings (`__proto__` is an ordinary key). */
  toObject(): Record<string, number> {
    const entries = [...this.entries()].sort((a, b) => b[1] - a[1]);
    return Object.fromEntries(entries.map(([k, v]) => [String(k), v]));
  }
}

/**
 * Frames per link type. Consecutive frames of one type (nearly all of them)
 * are counted without a map lookup.
 */
export class LinkTypeCounter {
  readonly #counts = new Counter<number>();
  #current = -1;
  #run = 0;

  /**
   * Counts one frame.
   *
   * @param linkType Its LINKTYPE_* value.
   */
  add(linkType: number): void {
    if (linkType === this.#current) {
      this.#run++;
      return;
    }
    this.#settle();
    this.#current = linkType;
    this.#run = 1;
  }

  /** Frames counted. */
  total(): number {
    return this.#counts.total() + this.#run;
  }

  /** Counts per link type. */
  entries(): IterableIterator<[number, number]> {
    this.#settle();
    return this.#counts.entries();
  }

  #settle(): void {
    if (this.#run > 0) this.#counts.add(this.#current, this.#run);
    this.#run = 0;
  }
}

/** One input of an analysis. */
export interface InputSummary {
  /** Path, `-` or interface name. */
  name: string;
  /** `pcap`, `pcapng` or `live`. */
  format: string;
  /** Frames read. */
  frames: number;
  /** Bytes read. */
  bytes: number;
  /** An error that stopped reading this input, or `null`. */
  error: string | null;
}

/** The JSON form of an analysis summary (`packetwave analyze --json`). */
export interface AnalysisSummary {
  /** The inputs, in order. */
  inputs: InputSummary[];
  /** Capture time of the first and last frame (seconds since the epoch), `null` without frames. */
  firstTs: number | null;
  /** Capture time of the last frame. */
  lastTs: number | null;
  /** Frame and layer counts. */
  packets: {
    /** Frames read. */
    total: number;
    /** Frames per link type name. */
    byLinkType: Record<string, number>;
    /** Frames whose outermost network layer was IPv4. */
    ipv4: number;
    /** Frames whose outermost network layer was IPv6. */
    ipv6: number;
    /** Frames without IP (ARP, LLDP, ...). */
    nonIp: number;
    /** UDP datagrams. */
    udp: number;
    /** TCP segments. */
    tcp: number;
    /** SCTP DATA chunks. */
    sctp: number;
    /** IP fragments seen. */
    ipFragments: number;
    /** Datagrams rebuilt from fragments. */
    reassembled: number;
    /** Tunnel headers peeled off (GRE, ERSPAN, IP-in-IP, GTP-U, VXLAN). */
    tunnelled: number;
  };
  /** SIP message counts. */
  sip: {
    /** Messages parsed. */
    messages: number;
    /** Requests per method, case kept as on the wire. */
    requests: Record<string, number>;
    /** Responses per status code. */
    responses: Record<string, number>;
    /** Messages per transport. */
    transports: Record<string, number>;
    /** Distinct Call-IDs. */
    dialogs: number;
  };
  /** RTP and RTCP packet counts. */
  media: {
    /** RTP packets on identified streams. */
    rtpPackets: number;
    /** RTP streams (by addresses, ports and SSRC). */
    rtpStreams: number;
    /** Streams no SDP announced, found by the RTP heuristic. */
    unsignalledStreams: number;
    /** RTCP compound packets. */
    rtcpPackets: number;
  };
  /** REGISTER outcomes. */
  registrations: {
    /** Successful registrations (and de-registrations). */
    registered: number;
    /** Refused ones. */
    failed: number;
  };
  /** Anomalies per reason. */
  anomalies: {
    /** All anomalies. */
    total: number;
    /** Count per reason. */
    byReason: Record<string, number>;
  };
}

/** Mutable counters behind an {@link AnalysisSummary}. */
export class SummaryCounters {
  /** Inputs read so far. */
  readonly inputs: InputSummary[] = [];
  /** Frames per LINKTYPE_* value. */
  readonly linkTypes = new LinkTypeCounter();
  /** UDP datagrams. */
  udp = 0;
  /** TCP segments. */
  tcp = 0;
  /** SCTP DATA chunks. */
  sctp = 0;
  /** SIP requests per method. */
  readonly requests = new Counter<string>();
  /** SIP responses per status code. */
  readonly responses = new Counter<number>();
  /** SIP messages per transport. */
  readonly transports = new Counter<string>();
  /** Distinct Call-IDs, counted with memory bounded by the calls active at once. */
  readonly callIds = new CallIdCounter();
  /** RTP packets on identified streams. */
  rtpPackets = 0;
  /** RTP streams. */
  rtpStreams = 0;
  /** RTCP compound packets. */
  rtcpPackets = 0;
  /** RTP streams no SDP announced. */
  unsignalledStreams = 0;
  /** Successful registrations. */
  registered = 0;
  /** Refused registrations. */
  registrationsFailed = 0;
  /** Anomalies per reason. */
  readonly anomalies = new Counter<string>();
  /**
   * First frame time (`Infinity` before any). Numbers only, never `null`: updated on every
   * frame, a field that can hold `null` would box each new time.
   */
  firstTs = Infinity;
  /** Last frame time (`-Infinity` before any); see {@link SummaryCounters.firstTs}. */
  lastTs = -Infinity;
  /**
   * Builds the JSON form.
   *
   * @param decoded Counters from the packet decoder.
   * @returns The summary.
   */
  toJSON(decoded: {
    ipv4: number;
    ipv6: number;
    nonIp: number;
    fragments: number;
    reassembled: number;
    tunnelled: number;
  }): AnalysisSummary {
    const byLinkType = new Counter<string>();
    for (const [type, n] of this.linkTypes.entries()) byLinkType.add(linkTypeName(type), n);
    const responses = new Counter<string>();
    for (const [status, n] of this.responses) responses.add(String(status), n);
    return {
      inputs: this.inputs,
      firstTs: Number.isFinite(this.firstTs) ? this.firstTs : null,
      lastTs: Number.isFinite(this.lastTs) ? this.lastTs : null,
      packets: {
        total: this.linkTypes.total(),
        byLinkType: byLinkType.toObject(),
        ipv4: decoded.ipv4,
        ipv6: decoded.ipv6,
        nonIp: decoded.nonIp,
        udp: this.udp,
        tcp: this.tcp,
        sctp: this.sctp,
        ipFragments: decoded.fragments,
        reassembled: decoded.reassembled,
        tunnelled: decoded.tunnelled,
      },
      sip: {
        messages: this.requests.total() + this.responses.total(),
        requests: this.requests.toObject(),
        responses: responses.toObject(),
        transports: this.transports.toObject(),
        dialogs: this.callIds.count,
      },
      media: {
        rtpPackets: this.rtpPackets,
        rtpStreams: this.rtpStreams,
        unsignalledStreams: this.unsignalledStreams,
        rtcpPackets: this.rtcpPackets,
      },
      registrations: { registered: this.registered, failed: this.registrationsFailed },
      anomalies: { total: this.anomalies.total(), byReason: this.anomalies.toObject() },
    };
  }
}

/**
 * Counts distinct Call-IDs while remembering only those seen recently: a
 * Call-ID idle for longer than the window is forgotten, so memory follows
 * the number of calls active at once, not the length of the capture.
 */
export class CallIdCounter {
  /** Distinct Call-IDs counted. */
  count = 0;
  readonly #lastSeen = new Map<string, number>();
  readonly #windowSeconds: number;
  #lastSweep = 0;

  /** @param windowSeconds Idle time after which a Call-ID is forgotten (default 2 hours). */
  constructor(windowSeconds = 7200) {
    this.#windowSeconds = windowSeconds;
  }

  /**
   * Notes a Call-ID seen at a time.
   *
   * @param callId The Call-ID.
   * @param ts Capture time.
   */
  add(callId: string, ts: number): void {
    if (ts - this.#lastSweep > 60) this.#sweep(ts);
    if (!this.#lastSeen.has(callId)) this.count++;
    else this.#lastSeen.delete(callId); // re-inserted: the map stays in recency order
    this.#lastSeen.set(callId, ts);
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [id, ts] of this.#lastSeen) {
      if (now - ts <= this.#windowSeconds) break;
      this.#lastSeen.delete(id);
    }
  }
}
