/**
 * Types of a parsed SIP message (RFC 3261). The parser in `parse.ts` builds
 * them; everything downstream (calls, rules, plugins) reads them.
 *
 * Header names and parameter names come from the wire and may be hostile
 * (`__proto__`, `constructor`), so every name-keyed collection is a `Map`,
 * never a plain object. URIs, name-addrs and parameter maps are read-only: values
 * without parameters share one empty map ({@link NO_PARAMS}) and a name-addr seen
 * again is the same object (`parseNameAddr` keeps the last few hundred), so nothing
 * may change them.
 *
 * @module
 */

/**
 * The empty parameter (or URI header) map every URI, name-addr and Via
 * without any shares: a message has several, and an empty `Map` each cost
 * more than the rest of most of them.
 */
export const NO_PARAMS: ReadonlyMap<string, never> = new Map<string, never>();

/** A SIP, SIPS or TEL URI, split into its parts. */
export interface SipUri {
  /** Lower-case scheme: `sip`, `sips`, `tel` or another. */
  readonly scheme: string;
  /** The user part, unescaped (`*8`, `01077141436`, `109Q1427`); `null` when absent. */
  readonly user: string | null;
  /** Host name or address; IPv6 without brackets; empty for `tel:`. */
  readonly host: string;
  /** Port, or `null` when not given. */
  readonly port: number | null;
  /** URI parameters (`;transport=udp`, `;lr`), names lower-case; a flag parameter maps to `null`. */
  readonly params: ReadonlyMap<string, string | null>;
  /** URI headers (`?Replaces=...`), names as written, values unescaped. */
  readonly headers: ReadonlyMap<string, string>;
  /** The URI exactly as written. */
  readonly raw: string;
}

/** A `name-addr` or `addr-spec` with header parameters: From, To, Contact, Refer-To, ... */
export interface NameAddr {
  /** Display name, unquoted and unescaped (`07086661427,1427`); `null` when absent. */
  readonly displayName: string | null;
  /** The parsed URI, or `null` when it could not be parsed (see `rawUri`). */
  readonly uri: SipUri | null;
  /** The URI text between `<` and `>` (or the bare addr-spec). */
  readonly rawUri: string;
  /** Header parameters after the URI, names lower-case (`tag`, `expires`, `+sip.instance`). */
  readonly params: ReadonlyMap<string, string | null>;
  /** The `tag` parameter, or `null`. */
  readonly tag: string | null;
  /** The header value exactly as written. */
  readonly raw: string;
}

/** One Via header value. */
export interface Via {
  /** Upper-case transport: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`. */
  transport: string;
  /** Sent-by host. */
  host: string;
  /** Sent-by port, or `null` when not given. */
  port: number | null;
  /** The `branch` parameter, or `null`. */
  branch: string | null;
  /** Via parameters, names lower-case. */
  params: ReadonlyMap<string, string | null>;
  /** The value exactly as written. */
  raw: string;
}

/** The CSeq header. */
export interface CSeq {
  /** Sequence number. */
  seq: number;
  /** Method, upper-case as written. */
  method: string;
}

/** One part of a `multipart/*` body. */
export interface BodyPart {
  /** Content-Type of the part, lower-case, without parameters; `text/plain` when absent. */
  contentType: string;
  /** The part's own headers, names lower-case. */
  headers: Map<string, string>;
  /** The part's bytes. */
  body: Uint8Array;
}

/**
 * Message headers, looked up case-insensitively. Compact forms are stored
 * under their full names (`i` → `call-id`, `f` → `from`), so `get("Call-ID")`
 * and `get("i")` find the same header. Repeated headers and comma-separated
 * values are kept in order.
 */
export interface SipHeaderMap {
  /** First value of the header, or `undefined`. */
  get(name: string): string | undefined;
  /** Every value of the header, each comma-separated element apart where the header allows lists. */
  getAll(name: string): string[];
  /** Whether the header is present. */
  has(name: string): boolean;
  /** Every header as `[lower-case full name, value]` in wire order, one entry per header line. */
  entries(): IterableIterator<[string, string]>;
  /** Number of header lines. */
  readonly size: number;
}

/** Fields common to requests and responses. */
interface SipMessageBase {
  /** All headers. */
  headers: SipHeaderMap;
  /** Call-ID; empty string when the header is missing. */
  callId: string;
  /** From header, or `null` when missing or unparseable. */
  from: NameAddr | null;
  /** To header, or `null` when missing or unparseable. */
  to: NameAddr | null;
  /** CSeq, or `null` when missing or unparseable. */
  cseq: CSeq | null;
  /** Via headers, topmost first. */
  vias: Via[];
  /** Contact headers (may be empty; `*` in REGISTER gives one entry with a `null` uri). */
  contacts: NameAddr[];
  /** Content-Type, lower-case, without parameters; `null` when absent. */
  contentType: string | null;
  /** Content-Length as declared, or `null` when absent. */
  contentLength: number | null;
  /** The body bytes, exactly as framed. */
  body: Uint8Array;
  /** Parts of a multipart body; empty when the body is not multipart. */
  parts: readonly BodyPart[];
  /** Problems the parser tolerated (for example `content-length-mismatch`), as short reasons. */
  warnings: string[];
  /** Size of the whole message in bytes. */
  size: number;
}

/** A SIP request. */
export interface SipRequest extends SipMessageBase {
  /** Discriminant. */
  kind: "request";
  /** Method as written on the request line (case kept: `REGIStER` stays). */
  method: string;
  /** Request-URI, parsed. `null` when it could not be parsed (see `requestUriRaw`). */
  requestUri: SipUri | null;
  /** Request-URI text as written. */
  requestUriRaw: string;
}

/** A SIP response. */
export interface SipResponse extends SipMessageBase {
  /** Discriminant. */
  kind: "response";
  /** Status code, 100 to 699. */
  status: number;
  /** Reason phrase as written. */
  reason: string;
}

/** A parsed SIP message. */
export type SipMessage = SipRequest | SipResponse;

/** Result of parsing bytes that should hold one SIP message. */
export type SipParseResult =
  | { ok: true; message: SipMessage }
  | { ok: false; reason: string };
