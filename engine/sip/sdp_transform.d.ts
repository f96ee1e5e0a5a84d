/**
 * Type declarations for the part of `npm:sdp-transform` 3.0.0 that `sdp.ts`
 * reads; the package ships no types. The parser turns every numeric-looking
 * field into a number and leaves the rest as strings, and fills a field only
 * when its line matched, so every field here is optional and loosely typed.
 *
 * @module
 */

/** `a=rtpmap:<payload> <codec>/<rate>[/<encoding>]`. */
export interface SdpTransformRtp {
  /** Payload type. */
  payload?: number | string;
  /** Encoding name as written. */
  codec?: string;
  /** Clock rate. */
  rate?: number | string;
  /** Encoding parameters (audio channels). */
  encoding?: number | string;
}

/** `a=fmtp:<payload> <config>`. */
export interface SdpTransformFmtp {
  /** Payload type. */
  payload?: number | string;
  /** Format parameters as written. */
  config?: string | number;
}

/** `c=IN IP<version> <ip>`. */
export interface SdpTransformConnection {
  /** 4 or 6. */
  version?: number | string;
  /** Address, possibly with `/ttl` and `/count` suffixes. */
  ip?: string | number;
}

/** `a=rtcp:<port> ...`. */
export interface SdpTransformRtcp {
  /** RTCP port. */
  port?: number | string;
}

/** One media section. */
export interface SdpTransformMedia {
  /** `a=rtpmap` lines. */
  rtp?: SdpTransformRtp[];
  /** `a=fmtp` lines. */
  fmtp?: SdpTransformFmtp[];
  /** Media-level `c=`. */
  connection?: SdpTransformConnection;
  /** `a=sendrecv` / `sendonly` / `recvonly` / `inactive`. */
  direction?: string;
  /** `a=ptime`. */
  ptime?: number | string;
  /** `a=rtcp`. */
  rtcp?: SdpTransformRtcp;
  /** `"rtcp-mux"` when `a=rtcp-mux` is present. */
  rtcpMux?: string;
}

/** `o=<username> <sess-id> <sess-version> IN IP<v> <address>`. */
export interface SdpTransformOrigin {
  /** User name. */
  username?: string | number;
  /** Session id (a string when too large for a number). */
  sessionId?: number | string;
  /** Session version. */
  sessionVersion?: number | string;
  /** Unicast address. */
  address?: string | number;
}

/** A whole session description. */
export interface SdpTransformSession {
  /** `o=` line. */
  origin?: SdpTransformOrigin;
  /** Session-level `c=`. */
  connection?: SdpTransformConnection;
  /** Session-level direction attribute. */
  direction?: string;
  /** One entry per `m=` line, in order. */
  media?: SdpTransformMedia[];
}

/**
 * Parses SDP text.
 *
 * @param sdp SDP text, CRLF or LF line ends.
 * @returns The description.
 */
export function parse(sdp: string): SdpTransformSession;
