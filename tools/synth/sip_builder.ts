/**
 * Builds SIP messages (RFC 3261) as text for synthetic captures: requests and
 * responses with a correct Content-Length, Via branches, From/To tags, CSeq,
 * Contact, SDP bodies (G.711 and telephone-event), digest challenges and
 * credentials (RFC 2617/8760 MD5, computed for real), `message/sipfrag`
 * bodies, and {@link SipDialog}, which keeps two parties' tags, CSeq
 * counters and targets consistent across an INVITE, its responses, ACK,
 * CANCEL, re-sent requests and in-dialog requests from either side.
 *
 * Nothing here knows a particular site: every name, address and header value
 * comes from the caller.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { SeededRandom } from "./random.ts";

/** Header lines in order, as `[name, value]`; a name may repeat (several Via). */
export type SipHeaders = Array<[name: string, value: string]>;

/** A SIP request being built. Serialize it with {@link formatSipMessage}. */
export interface SipRequestDraft {
  /** Always `request`. */
  kind: "request";
  /** Method, such as `INVITE`. */
  method: string;
  /** Request-URI. */
  uri: string;
  /** Headers in order; Content-Length is added when formatting. */
  headers: SipHeaders;
  /** Body text (empty for none). */
  body: string;
}

/** A SIP response being built. Serialize it with {@link formatSipMessage}. */
export interface SipResponseDraft {
  /** Always `response`. */
  kind: "response";
  /** Status code. */
  status: number;
  /** Reason phrase. */
  reason: string;
  /** Headers in order; Content-Length is added when formatting. */
  headers: SipHeaders;
  /** Body text (empty for none). */
  body: string;
}

/** A request or response being built. */
export type SipDraft = SipRequestDraft | SipResponseDraft;

/** Reason phrases of the status codes synthetic captures use (RFC 3261 §21 and others). */
export const REASON_PHRASES: ReadonlyMap<number, string> = new Map([
  [100, "Trying"],
  [180, "Ringing"],
  [181, "Call Is Being Forwarded"],
  [182, "Queued"],
  [183, "Session Progress"],
  [200, "OK"],
  [202, "Accepted"],
  [302, "Moved Temporarily"],
  [400, "Bad Request"],
  [401, "Unauthorized"],
  [403, "Forbidden"],
  [404, "Not Found"],
  [407, "Proxy Authentication Required"],
  [408, "Request Timeout"],
  [480, "Temporarily Unavailable"],
  [481, "Call/Transaction Does Not Exist"],
  [486, "Busy Here"],
  [487, "Request Terminated"],
  [488, "Not Acceptable Here"],
  [500, "Server Internal Error"],
  [503, "Service Unavailable"],
  [600, "Busy Everywhere"],
  [603, "Decline"],
]);

const TEXT_ENCODER = new TextEncoder();
const CONTENT_LENGTH = "content-length";

/**
 * Serializes a message: start line, headers, a computed Content-Length (in UTF-8
 * bytes of the body; any Content-Length among the headers is dropped), a blank
 * line and the body, with CRLF line ends.
 *
 * @param message The request or response.
 * @returns The message text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = formatSipMessage({
 *   kind: "response", status: 200, reason: "OK",
 *   headers: [["CSeq", "1 BYE"], ["Content-Length", "99"]], body: "héllo",
 * });
 * assert.equal(text, "SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\nContent-Length: 6\r\n\r\nhéllo");
 * ```
 */
export function formatSipMessage(message: SipDraft): string {
  let text = message.kind === "request"
    ? `${message.method} ${message.uri} SIP/2.0\r\n`
    : `SIP/2.0 ${message.status} ${message.reason}\r\n`;
  for (const [name, value] of message.headers) {
    if (name.toLowerCase() !== CONTENT_LENGTH) text += `${name}: ${value}\r\n`;
  }
  text += `Content-Length: ${TEXT_ENCODER.encode(message.body).length}\r\n\r\n`;
  return text + message.body;
}

/**
 * Serializes a message to UTF-8 bytes, ready to be a UDP payload.
 *
 * @param message The request or response.
 * @returns The bytes of {@link formatSipMessage}.
 */
export function encodeSipMessage(message: SipDraft): Uint8Array {
  return TEXT_ENCODER.encode(formatSipMessage(message));
}

/**
 * The first value of a header, by case-insensitive name.
 *
 * @param message A draft.
 * @param name Header name.
 * @returns The value, or `undefined`.
 */
export function getHeader(message: SipDraft, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return message.headers.find(([n]) => n.toLowerCase() === wanted)?.[1];
}

/**
 * Replaces the first header of that name (case-insensitive), or appends it.
 *
 * @param message A draft (changed).
 * @param name Header name.
 * @param value New value.
 */
export function setHeader(message: SipDraft, name: string, value: string): void {
  const wanted = name.toLowerCase();
  const at = message.headers.findIndex(([n]) => n.toLowerCase() === wanted);
  if (at >= 0) message.headers[at] = [message.headers[at]![0], value];
  else message.headers.push([name, value]);
}

/**
 * Inserts a header before the first of some other headers (case-insensitive),
 * or at the end when none of them is present.
 *
 * @param message A draft (changed).
 * @param header The `[name, value]` to insert.
 * @param before Names to insert in front of, such as `["User-Agent", "Content-Type"]`.
 */
export function insertHeader(
  message: SipDraft,
  header: [string, string],
  before: readonly string[],
): void {
  const names = new Set(before.map((n) => n.toLowerCase()));
  const at = message.headers.findIndex(([n]) => names.has(n.toLowerCase()));
  if (at >= 0) message.headers.splice(at, 0, header);
  else message.headers.push(header);
}

/**
 * Quotes a display name (RFC 3261 quoted-string), escaping `"` and `\`.
 *
 * @param name Display name, such as `07086661427,1427`.
 * @returns The quoted form.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(quoteDisplayName('say "hi"'), '"say \\"hi\\""');
 * ```
 */
export function quoteDisplayName(name: string): string {
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** The parts of a From, To, Contact or Refer-To value. */
export interface NameAddrSpec {
  /** Display name, quoted when formatted. */
  displayName?: string;
  /** The URI, written inside `<>`. */
  uri: string;
  /** The `tag` parameter. */
  tag?: string;
  /** More header parameters, as `;name=value` (or `;name` when the value is null). */
  params?: ReadonlyArray<[string, string | null]>;
}

/**
 * Formats a name-addr: `"Display" <uri>;tag=...;param=...`.
 *
 * @param spec Display name, URI, tag and parameters.
 * @returns The header value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatNameAddr({ displayName: "07086661427,1427", uri: "sip:109Q1427@10.0.0.1", tag: "ab" }),
 *   '"07086661427,1427" <sip:109Q1427@10.0.0.1>;tag=ab',
 * );
 * ```
 */
export function formatNameAddr(spec: NameAddrSpec): string {
  let out = spec.displayName !== undefined && spec.displayName !== ""
    ? `${quoteDisplayName(spec.displayName)} <${spec.uri}>`
    : `<${spec.uri}>`;
  if (spec.tag !== undefined) out += `;tag=${spec.tag}`;
  for (const [name, value] of spec.params ?? []) {
    out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

/** The parts of a Via value. */
export interface ViaSpec {
  /** Transport (default `UDP`). */
  transport?: string;
  /** Sent-by host. */
  host: string;
  /** Sent-by port. */
  port?: number;
  /** Branch parameter (start it with `z9hG4bK`). */
  branch: string;
  /** Add an empty `rport` parameter (RFC 3581). */
  rport?: boolean;
}

/**
 * Formats a Via value.
 *
 * @param spec Transport, sent-by, branch.
 * @returns The header value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatVia({ host: "10.0.0.1", port: 5060, branch: "z9hG4bKx", rport: true }),
 *   "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport");
 * ```
 */
export function formatVia(spec: ViaSpec): string {
  const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  const sentBy = spec.port === undefined ? host : `${host}:${spec.port}`;
  return `SIP/2.0/${spec.transport ?? "UDP"} ${sentBy};branch=${spec.branch}${
    spec.rport ? ";rport" : ""
  }`;
}

/**
 * A `message/sipfrag` body carrying a status line (RFC 3420), as NOTIFYs of a
 * REFER subscription do.
 *
 * @param status Status code.
 * @param reason Reason phrase (default from {@link REASON_PHRASES}).
 * @returns The body text.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(sipfragBody(100), "SIP/2.0 100 Trying\r\n");
 * ```
 */
export function sipfragBody(status: number, reason?: string): string {
  return `SIP/2.0 ${status} ${reason ?? REASON_PHRASES.get(status) ?? "Unknown"}\r\n`;
}

/** Media direction attributes of SDP (RFC 3264 §5.1). */
export type SdpDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** Options of {@link buildSdp}. */
export interface SdpOptions {
  /** Origin username (default `-`). */
  username?: string;
  /** Origin session id. */
  sessionId: number | string;
  /** Origin session version: raise it with every new offer or answer. */
  sessionVersion: number | string;
  /** Connection and origin address (IPv4 or IPv6). */
  address: string;
  /** Audio port. */
  port: number;
  /** Static G.711 payload types to offer, in order of preference (default `[0, 8]`). */
  payloadTypes?: readonly number[];
  /** Payload type of telephone-event, or null for none (default 101). */
  telephoneEvent?: number | null;
  /** Direction attribute (default `sendrecv`). */
  direction?: SdpDirection;
  /** Packet time in ms (default 20). */
  ptime?: number;
  /** Session name (default `-`). */
  sessionName?: string;
}

const STATIC_AUDIO = new Map([[0, "PCMU/8000"], [8, "PCMA/8000"], [9, "G722/8000"], [
  18,
  "G729/8000",
]]);

/**
 * Builds an SDP body with one audio stream.
 *
 * @param options Origin, address, port, codecs, direction.
 * @returns The SDP text, CRLF line ends.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const sdp = buildSdp({ sessionId: 1, sessionVersion: 2, address: "10.0.0.1", port: 4000, direction: "sendonly" });
 * assert.match(sdp, /^v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\n/);
 * assert.match(sdp, /\r\nm=audio 4000 RTP\/AVP 0 8 101\r\n/);
 * assert.match(sdp, /\r\na=sendonly\r\n$/);
 * ```
 */
export function buildSdp(options: SdpOptions): string {
  const family = options.address.includes(":") ? "IP6" : "IP4";
  const payloadTypes = options.payloadTypes ?? [0, 8];
  const telephoneEvent = options.telephoneEvent === undefined ? 101 : options.telephoneEvent;
  const formats = telephoneEvent === null ? [...payloadTypes] : [...payloadTypes, telephoneEvent];
  const lines = [
    "v=0",
    `o=${
      options.username ?? "-"
    } ${options.sessionId} ${options.sessionVersion} IN ${family} ${options.address}`,
    `s=${options.sessionName ?? "-"}`,
    `c=IN ${family} ${options.address}`,
    "t=0 0",
    `m=audio ${options.port} RTP/AVP ${formats.join(" ")}`,
  ];
  for (const pt of payloadTypes) {
    const map = STATIC_AUDIO.get(pt);
    if (map !== undefined) lines.push(`a=rtpmap:${pt} ${map}`);
  }
  if (telephoneEvent !== null) {
    lines.push(`a=rtpmap:${telephoneEvent} telephone-event/8000`, `a=fmtp:${telephoneEvent} 0-16`);
  }
  lines.push(`a=ptime:${options.ptime ?? 20}`, `a=${options.direction ?? "sendrecv"}`);
  return lines.join("\r\n") + "\r\n";
}

/** A digest challenge (WWW-Authenticate or Proxy-Authenticate). */
export interface DigestChallenge {
  /** Realm. */
  realm: string;
  /** Server nonce. */
  nonce: string;
  /** Algorithm (only MD5 is computed; default MD5). */
  algorithm?: "MD5";
  /** Quality of protection offered (omit for the RFC 2069 form). */
  qop?: "auth";
  /** Opaque value to be echoed. */
  opaque?: string;
  /** The previous nonce was stale. */
  stale?: boolean;
}

/**
 * Formats a digest challenge value.
 *
 * @param challenge Realm, nonce, qop, opaque, stale.
 * @returns The value of a WWW-Authenticate or Proxy-Authenticate header.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatDigestChallenge({ realm: "r", nonce: "n", qop: "auth" }),
 *   'Digest realm="r", nonce="n", algorithm=MD5, qop="auth"');
 * ```
 */
export function formatDigestChallenge(challenge: DigestChallenge): string {
  let out = `Digest realm="${challenge.realm}", nonce="${challenge.nonce}", algorithm=${
    challenge.algorithm ?? "MD5"
  }`;
  if (challenge.qop !== undefined) out += `, qop="${challenge.qop}"`;
  if (challenge.opaque !== undefined) out += `, opaque="${challenge.opaque}"`;
  if (challenge.stale) out += ", stale=TRUE";
  return out;
}

/** What a client needs to answer a digest challenge. */
export interface DigestAnswer {
  /** User name. */
  username: string;
  /** Password. */
  password: string;
  /** The challenge answered. */
  challenge: DigestChallenge;
  /** Method of the request that carries the credentials. */
  method: string;
  /** The digest-uri: the Request-URI of that request. */
  uri: string;
  /** Client nonce (needed when the challenge has qop). */
  cnonce?: string;
  /** Nonce count (default 1). */
  nc?: number;
}

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}

/**
 * Computes the digest `response` value (RFC 2617 §3.2.2, MD5).
 *
 * @param answer Credentials, challenge and request.
 * @returns 32 hex digits.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // RFC 2617 §3.5 example.
 * assert.equal(digestResponse({
 *   username: "Mufasa", password: "Circle Of Life", method: "GET", uri: "/dir/index.html",
 *   challenge: { realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", qop: "auth" },
 *   cnonce: "0a4f113b", nc: 1,
 * }), "6629fae49393a05397450978507c4ef1");
 * ```
 */
export function digestResponse(answer: DigestAnswer): string {
  const { challenge } = answer;
  const ha1 = md5(`${answer.username}:${challenge.realm}:${answer.password}`);
  const ha2 = md5(`${answer.method}:${answer.uri}`);
  if (challenge.qop === undefined) return md5(`${ha1}:${challenge.nonce}:${ha2}`);
  const nc = (answer.nc ?? 1).toString(16).padStart(8, "0");
  return md5(`${ha1}:${challenge.nonce}:${nc}:${answer.cnonce ?? ""}:${challenge.qop}:${ha2}`);
}

/**
 * Formats digest credentials (the value of Authorization or Proxy-Authorization).
 *
 * @param answer Credentials, challenge and request.
 * @returns The header value, with a real MD5 response.
 */
export function digestCredentials(answer: DigestAnswer): string {
  const { challenge } = answer;
  let out =
    `Digest username="${answer.username}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${answer.uri}", response="${
      digestResponse(answer)
    }", algorithm=${challenge.algorithm ?? "MD5"}`;
  if (challenge.qop !== undefined) {
    const nc = (answer.nc ?? 1).toString(16).padStart(8, "0");
    out += `, cnonce="${answer.cnonce ?? ""}", qop=${challenge.qop}, nc=${nc}`;
  }
  if (challenge.opaque !== undefined) out += `, opaque="${challenge.opaque}"`;
  return out;
}

/** The two ends of a {@link SipDialog}: the one that sent the first request, and the other. */
export type DialogSide = "caller" | "callee";

/** One party of a {@link SipDialog}. */
export interface DialogParty {
  /** URI of the party's From/To (its address of record, or the Request-URI it was reached at). */
  uri: string;
  /** Display name in From/To. */
  displayName?: string;
  /** The party's tag (the callee's goes in To from its first tagged response). */
  tag: string;
  /** The party's Contact URI: the target of requests sent to it inside the dialog. */
  contact: string;
  /** Via sent-by host. */
  host: string;
  /** Via sent-by port. */
  port: number;
  /** Via transport (default UDP). */
  transport?: string;
  /** Ask for `rport` in the Via of the party's requests; the other side fills it in. */
  rport?: boolean;
  /** `User-Agent` of the party's requests (and of its responses when `server` is not set). */
  userAgent?: string;
  /** `Server` header of the party's responses. */
  server?: string;
  /** `Allow` header on the party's INVITE, REGISTER and 2xx answers to INVITE. */
  allow?: string;
  /** `Supported` header on the same messages as `allow`. */
  supported?: string;
  /** CSeq number of the party's first request (default 1). */
  cseq?: number;
}

/** Options of a {@link SipDialog}. */
export interface SipDialogOptions {
  /** Call-ID. */
  callId: string;
  /** The party sending the first request. */
  caller: DialogParty;
  /** The other party. */
  callee: DialogParty;
  /** Request-URI of the first request (default the callee's URI). */
  requestUri?: string;
  /** Source of branches (and of anything else random). */
  random: SeededRandom;
  /** Makes a Via branch (default `z9hG4bK` and 16 hex digits). */
  newBranch?: () => string;
  /** Max-Forwards of requests (default 70). */
  maxForwards?: number;
}

/** Extras for a request. */
export interface SipRequestOptions {
  /** Body text. */
  body?: string;
  /** Content-Type of the body (default `application/sdp` when there is a body). */
  contentType?: string;
  /** More headers, placed after Contact. */
  headers?: SipHeaders;
  /** Request-URI instead of the default. */
  uri?: string;
}

/** Extras for a response. */
export interface SipResponseOptions {
  /** Reason phrase (default from {@link REASON_PHRASES}). */
  reason?: string;
  /** Body text. */
  body?: string;
  /** Content-Type of the body (default `application/sdp` when there is a body). */
  contentType?: string;
  /** More headers, placed after Contact. */
  headers?: SipHeaders;
  /**
   * To tag to add when the request's To has none: a string, or null for none.
   * Default: none on 100, the responder's tag otherwise.
   */
  toTag?: string | null;
  /** Add the responder's Contact (default: on 101–299 to INVITE, 2xx to SUBSCRIBE/REFER/NOTIFY). */
  contact?: boolean;
}

const CONTACT_METHODS = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY", "UPDATE", "REGISTER"]);
const CAPABILITY_METHODS = new Set(["INVITE", "REGISTER", "OPTIONS"]);
const BEFORE_AGENT = ["User-Agent", "Server", "Allow", "Supported", "Content-Type"];

function other(side: DialogSide): DialogSide {
  return side === "caller" ? "callee" : "caller";
}

function parseCSeq(message: SipDraft): { seq: number; method: string } {
  const value = getHeader(message, "CSeq") ?? "";
  const match = /^\s*(\d+)\s+(\S+)/.exec(value);
  if (match === null) throw new TypeError(`Draft has no valid CSeq: ${value}`);
  return { seq: Number(match[1]), method: match[2] as string };
}

function tagOf(value: string): string | null {
  const match = /;\s*tag=([^;\s]+)/i.exec(value);
  return match === null ? null : (match[1] as string);
}

/**
 * Two parties exchanging SIP under one Call-ID: an INVITE dialog (with its
 * early and confirmed phases, re-INVITEs and in-dialog requests from either
 * side), or a non-dialog exchange such as REGISTER. It builds each message
 * from the state so far: tags, each side's CSeq counter, Contact targets,
 * and fresh branches for new transactions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeededRandom } from "./random.ts";
 * const dialog = new SipDialog({
 *   callId: "abc@10.0.0.1",
 *   random: new SeededRandom(1),
 *   caller: { uri: "sip:alice@example.com", tag: "a1", contact: "sip:alice@10.0.0.1", host: "10.0.0.1", port: 5060 },
 *   callee: { uri: "sip:bob@example.com", tag: "b1", contact: "sip:bob@10.0.0.2", host: "10.0.0.2", port: 5060 },
 * });
 * const invite = dialog.invite();
 * const ok = dialog.respond(invite, 200);
 * assert.match(getHeader(ok, "To") ?? "", /;tag=b1$/);
 * const bye = dialog.request("callee", "BYE");
 * assert.equal(bye.uri, "sip:alice@10.0.0.1");
 * assert.equal(getHeader(bye, "From"), "<sip:bob@example.com>;tag=b1");
 * assert.equal(dialog.senderOf(bye), "callee");
 * ```
 */
export class SipDialog {
  /** Call-ID of every message. */
  readonly callId: string;
  readonly #parties: Record<DialogSide, DialogParty>;
  readonly #requestUri: string;
  readonly #newBranch: () => string;
  readonly #maxForwards: string;
  readonly #nextSeq: Record<DialogSide, number>;
  readonly #senders = new WeakMap<SipDraft, DialogSide>();
  #calleeTag: string | null = null;

  /**
   * Starts a dialog; nothing is sent until the first request is built.
   *
   * @param options Call-ID, parties, first Request-URI, random source.
   */
  constructor(options: SipDialogOptions) {
    this.callId = options.callId;
    this.#parties = { caller: options.caller, callee: options.callee };
    this.#requestUri = options.requestUri ?? options.callee.uri;
    const random = options.random;
    this.#newBranch = options.newBranch ?? (() => `z9hG4bK${random.hex(16)}`);
    this.#maxForwards = String(options.maxForwards ?? 70);
    this.#nextSeq = { caller: options.caller.cseq ?? 1, callee: options.callee.cseq ?? 1 };
  }

  /**
   * One party of the dialog.
   *
   * @param side Which party.
   * @returns Its description.
   */
  party(side: DialogSide): DialogParty {
    return this.#parties[side];
  }

  /** Whether the callee has answered the INVITE with a tagged 1xx or 2xx. */
  get established(): boolean {
    return this.#calleeTag !== null;
  }

  /**
   * Which side sent a message this dialog built.
   *
   * @param message A request or response from this dialog.
   * @returns The sending side.
   * @throws {TypeError} For a message this dialog did not build.
   */
  senderOf(message: SipDraft): DialogSide {
    const side = this.#senders.get(message);
    if (side === undefined) throw new TypeError("Message was not built by this dialog");
    return side;
  }

  /**
   * The INVITE: the first request when the dialog is not established, otherwise a
   * re-INVITE from the caller (use {@link SipDialog.request} for one from the callee).
   *
   * @param options Body, headers, Request-URI.
   * @returns The request.
   */
  invite(options: SipRequestOptions = {}): SipRequestDraft {
    return this.request("caller", "INVITE", options);
  }

  /**
   * A new request from one side: in the dialog once it is established (To tag,
   * Request-URI = the other side's Contact), otherwise outside it (no To tag,
   * the first Request-URI). ACK and CANCEL have their own methods.
   *
   * @param side The sender.
   * @param method Method.
   * @param options Body, headers, Request-URI.
   * @returns The request.
   */
  request(side: DialogSide, method: string, options: SipRequestOptions = {}): SipRequestDraft {
    const seq = this.#nextSeq[side]++;
    const uri = options.uri ??
      (this.established || side === "callee"
        ? this.#parties[other(side)].contact
        : this.#requestUri);
    return this.#buildRequest(side, method, seq, uri, options);
  }

  /**
   * A response to a request of this dialog, from the other side. Via, From, To,
   * Call-ID and CSeq are copied; a requested `rport` is filled in with the
   * requester's address; the To tag is added as {@link SipResponseOptions.toTag} says.
   *
   * @param request The request answered.
   * @param status Status code.
   * @param options Reason, body, headers, To tag, Contact.
   * @returns The response.
   */
  respond(
    request: SipRequestDraft,
    status: number,
    options: SipResponseOptions = {},
  ): SipResponseDraft {
    const requester = this.senderOf(request);
    const responder = other(requester);
    const party = this.#parties[responder];
    const asker = this.#parties[requester];
    const headers: SipHeaders = [];
    let firstVia = true;
    for (const [name, value] of request.headers) {
      const lower = name.toLowerCase();
      if (lower === "via") {
        let via = value;
        if (firstVia && /;rport(?=;|$)/.test(via)) {
          via = via.replace(/;rport(?=;|$)/, `;received=${asker.host};rport=${asker.port}`);
        }
        firstVia = false;
        headers.push([name, via]);
      } else if (lower === "from" || lower === "call-id" || lower === "cseq") {
        headers.push([name, value]);
      } else if (lower === "to") {
        let to = value;
        if (tagOf(value) === null) {
          const tag = options.toTag === undefined
            ? (status === 100 ? null : party.tag)
            : options.toTag;
          if (tag !== null) to += `;tag=${tag}`;
          if (
            tag !== null && requester === "caller" && request.method === "INVITE" &&
            status > 100 && status < 300
          ) {
            this.#calleeTag = tag;
          }
        }
        headers.push([name, to]);
      }
    }
    const method = request.method;
    const withContact = options.contact ??
      ((method === "INVITE" && status > 100 && status < 300) ||
        ((method === "SUBSCRIBE" || method === "REFER" || method === "NOTIFY") &&
          status >= 200 && status < 300));
    if (withContact) headers.push(["Contact", `<${party.contact}>`]);
    headers.push(...(options.headers ?? []));
    const agent = party.server ?? party.userAgent;
    if (agent !== undefined) headers.push([party.server ? "Server" : "User-Agent", agent]);
    if (CAPABILITY_METHODS.has(method) && status >= 200 && status < 300) {
      if (party.allow !== undefined) headers.push(["Allow", party.allow]);
      if (party.supported !== undefined) headers.push(["Supported", party.supported]);
    }
    const body = options.body ?? "";
    if (body !== "") headers.push(["Content-Type", options.contentType ?? "application/sdp"]);
    const response: SipResponseDraft = {
      kind: "response",
      status,
      reason: options.reason ?? REASON_PHRASES.get(status) ?? "Unknown",
      headers,
      body,
    };
    this.#senders.set(response, responder);
    return response;
  }

  /**
   * The ACK for a final response to an INVITE. For a 2xx it is a new transaction in
   * the dialog (new branch, Request-URI = the other side's Contact); for a failure it
   * belongs to the INVITE's transaction (same Via and Request-URI, To from the response).
   *
   * @param invite The INVITE.
   * @param response Its final response.
   * @param options Body (for a late offer's answer) and headers.
   * @returns The ACK.
   */
  ack(
    invite: SipRequestDraft,
    response: SipResponseDraft,
    options: SipRequestOptions = {},
  ): SipRequestDraft {
    const side = this.senderOf(invite);
    const { seq } = parseCSeq(invite);
    if (response.status >= 200 && response.status < 300) {
      return this.#buildRequest(side, "ACK", seq, this.#parties[other(side)].contact, options, {
        to: getHeader(response, "To"),
      });
    }
    const party = this.#parties[side];
    const headers: SipHeaders = [
      ["Via", getHeader(invite, "Via") ?? ""],
      ["Max-Forwards", this.#maxForwards],
      ["From", getHeader(invite, "From") ?? ""],
      ["To", getHeader(response, "To") ?? ""],
      ["Call-ID", this.callId],
      ["CSeq", `${seq} ACK`],
      ...(options.headers ?? []),
    ];
    if (party.userAgent !== undefined) headers.push(["User-Agent", party.userAgent]);
    const ack: SipRequestDraft = {
      kind: "request",
      method: "ACK",
      uri: invite.uri,
      headers,
      body: "",
    };
    this.#senders.set(ack, side);
    return ack;
  }

  /**
   * The CANCEL of a pending INVITE: same Via branch, Request-URI, From, To and
   * CSeq number.
   *
   * @param invite The INVITE to cancel.
   * @param options Headers (such as `Reason`).
   * @returns The CANCEL.
   */
  cancel(invite: SipRequestDraft, options: SipRequestOptions = {}): SipRequestDraft {
    const side = this.senderOf(invite);
    const party = this.#parties[side];
    const { seq } = parseCSeq(invite);
    const headers: SipHeaders = [
      ["Via", getHeader(invite, "Via") ?? ""],
      ["Max-Forwards", this.#maxForwards],
      ["From", getHeader(invite, "From") ?? ""],
      ["To", getHeader(invite, "To") ?? ""],
      ["Call-ID", this.callId],
      ["CSeq", `${seq} CANCEL`],
      ...(options.headers ?? []),
    ];
    if (party.userAgent !== undefined) headers.push(["User-Agent", party.userAgent]);
    const cancel: SipRequestDraft = {
      kind: "request",
      method: "CANCEL",
      uri: invite.uri,
      headers,
      body: "",
    };
    this.#senders.set(cancel, side);
    return cancel;
  }

  /**
   * The same request sent again as a new transaction, as after a 401/407: a new
   * branch, the sender's next CSeq number, the same Request-URI, From, To and body,
   * plus the given headers (credentials), placed before User-Agent.
   *
   * @param request The request challenged.
   * @param options Headers to add (and a replacement body, if any).
   * @returns The new request.
   */
  resend(request: SipRequestDraft, options: SipRequestOptions = {}): SipRequestDraft {
    const side = this.senderOf(request);
    const seq = this.#nextSeq[side]++;
    const party = this.#parties[side];
    const headers: SipHeaders = request.headers.map(([name, value]): [string, string] => {
      const lower = name.toLowerCase();
      if (lower === "via") return [name, this.#via(party)];
      if (lower === "cseq") return [name, `${seq} ${request.method}`];
      return [name, value];
    });
    const resent: SipRequestDraft = {
      kind: "request",
      method: request.method,
      uri: options.uri ?? request.uri,
      headers,
      body: options.body ?? request.body,
    };
    for (const header of options.headers ?? []) insertHeader(resent, header, BEFORE_AGENT);
    this.#senders.set(resent, side);
    return resent;
  }

  #via(party: DialogParty): string {
    return formatVia({
      transport: party.transport,
      host: party.host,
      port: party.port,
      branch: this.#newBranch(),
      rport: party.rport,
    });
  }

  #buildRequest(
    side: DialogSide,
    method: string,
    seq: number,
    uri: string,
    options: SipRequestOptions,
    override: { to?: string } = {},
  ): SipRequestDraft {
    const party = this.#parties[side];
    const peer = this.#parties[other(side)];
    const peerTag = side === "caller" ? this.#calleeTag ?? undefined : peer.tag;
    const headers: SipHeaders = [
      ["Via", this.#via(party)],
      ["Max-Forwards", this.#maxForwards],
      ["From", formatNameAddr({ displayName: party.displayName, uri: party.uri, tag: party.tag })],
      [
        "To",
        override.to ??
          formatNameAddr({ displayName: peer.displayName, uri: peer.uri, tag: peerTag }),
      ],
      ["Call-ID", this.callId],
      ["CSeq", `${seq} ${method}`],
    ];
    if (CONTACT_METHODS.has(method)) headers.push(["Contact", `<${party.contact}>`]);
    headers.push(...(options.headers ?? []));
    if (party.userAgent !== undefined) headers.push(["User-Agent", party.userAgent]);
    if (CAPABILITY_METHODS.has(method)) {
      if (party.allow !== undefined) headers.push(["Allow", party.allow]);
      if (party.supported !== undefined) headers.push(["Supported", party.supported]);
    }
    const body = options.body ?? "";
    if (body !== "") headers.push(["Content-Type", options.contentType ?? "application/sdp"]);
    const request: SipRequestDraft = { kind: "request", method, uri, headers, body };
    this.#senders.set(request, side);
    return request;
  }
}
