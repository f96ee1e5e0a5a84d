/**
 * The documented rule context: every variable a condition may read, as a
 * tree. The loader checks `var` names against it; `rules/README.md` lists
 * the same fields. (`headers` and a site's own variables are open-ended.)
 *
 * @module
 */

/** A node of the context tree: a leaf, a map of children, any nested keys, or a list of elements. */
export type SchemaNode =
  | { kind: "leaf"; doc: string }
  | { kind: "map"; doc: string; fields: Record<string, SchemaNode> }
  | { kind: "open"; doc: string }
  | { kind: "list"; doc: string; element: SchemaNode };

function leaf(doc: string): SchemaNode {
  return { kind: "leaf", doc };
}
function map(doc: string, fields: Record<string, SchemaNode>): SchemaNode {
  return { kind: "map", doc, fields };
}
function list(doc: string, element: SchemaNode): SchemaNode {
  return { kind: "list", doc, element };
}

const ENDPOINT = map("an address", { ip: leaf("IP address"), port: leaf("port") });

const PARTY = map("a party", {
  user: leaf("user part of the URI as on the wire (`109Q1427`, `*8`)"),
  number: leaf(
    "the party's number: its extension by the site's pattern, else the normalized number",
  ),
  extension: leaf("the extension, or null when the user is not one"),
  displayName: leaf("display name, unquoted"),
  uri: leaf("the URI"),
  host: leaf("host part of the URI"),
  tag: leaf("dialog tag"),
});

/** The fields of a leg as rules see it (`leg`, and every leg a `find` picks). */
export const LEG_SCHEMA: SchemaNode = map("a call leg", {
  id: leg("unique leg id (the Call-ID, with #2… when a Call-ID is reused)"),
  callId: leg("Call-ID"),
  state: leg(
    "trying, early, ringing, answered, ended, cancelled, busy, rejected, failed or timed-out",
  ),
  final: leg("whether the leg reached a final state"),
  answered: leg("whether a 2xx answered the INVITE"),
  caller: PARTY,
  callee: PARTY,
  dialled: leg("user part of the Request-URI (the number or feature code dialled)"),
  dialledNumber: leg("`dialled` as a party number"),
  requestUri: leg("Request-URI of the first INVITE"),
  callerAddress: ENDPOINT,
  calleeAddress: ENDPOINT,
  transport: leg("udp, tcp, sctp or ws"),
  startTs: leg("time of the first INVITE (seconds since the epoch)"),
  progressTs: leg("first provisional response other than 100"),
  ringingTs: leg("first 180"),
  earlyMediaTs: leg("first 183"),
  answerTs: leg("answer time"),
  endTs: leg("end time"),
  lastActivityTs: leg("last SIP message or RTP packet"),
  setupDelay: leg("seconds from INVITE to answer"),
  talkTime: leg("seconds from answer to end"),
  finalStatus: leg("final status code of the INVITE"),
  endedBy: leg("caller, callee or timeout"),
  endMethod: leg("BYE, CANCEL, response or timeout"),
  onHold: leg("whether the leg is on hold now"),
  heldBy: leg("caller or callee while on hold, else null"),
  holds: list(
    "hold intervals",
    map("a hold", {
      by: leaf("caller or callee"),
      start: leaf("start"),
      end: leaf("end, or null"),
      how: leaf("sendonly, inactive, recvonly or null-address"),
      resumed: leaf("whether an offer resumed it"),
    }),
  ),
  lastHold: map("the most recent hold, or null", {
    by: leaf("caller or callee"),
    byNumber: leaf("the holding party's number"),
    start: leaf("start"),
    end: leaf("end, or null"),
    how: leaf("sendonly, inactive, recvonly or null-address"),
    resumed: leaf("whether an offer resumed it"),
  }),
  focus: leg("whether the INVITE's Contact carries `isfocus` (RFC 4579 conference focus)"),
  attempts: list(
    "INVITE transactions",
    map("an attempt", {
      target: leaf("user part of its Request-URI"),
      status: leaf("final status, or null"),
      challenged: leaf("whether it was answered with 401/407"),
      ts: leaf("time"),
    }),
  ),
  targets: list("distinct Request-URI users tried, in order", leaf("a target")),
  refer: map("the latest REFER on the leg, or null", {
    ts: leaf("time"),
    by: leaf("caller or callee (the transferor's side)"),
    referTo: leaf("Refer-To URI"),
    target: leaf("user part of the Refer-To URI"),
    targetNumber: leaf("`target` as a party number"),
    replaces: leaf("Call-ID named by Replaces (an attended transfer), or null"),
    referredBy: leaf("user of Referred-By, or null"),
    status: leaf("final status of the REFER (202), or null"),
    progress: leaf("last sipfrag status from NOTIFY, or null"),
  }),
  replaces: leg("Call-ID the INVITE's Replaces header names, or null"),
  headers: { kind: "open", doc: "the first INVITE's headers by lower-case name (first value)" },
  realCaller: leg("real caller set by rules so far, or null"),
  realCallee: leg("real callee set by rules so far, or null"),
  logicalId: leg("id of its logical call"),
  scenarios: list("scenarios of its logical call so far", leaf("a scenario")),
  relations: list(
    "relations from this leg",
    map("a relation", {
      relation: leaf("relation name"),
      to: leaf("id of the related leg"),
    }),
  ),
});

function leg(doc: string): SchemaNode {
  return leaf(doc);
}

/** `event`: the trigger. */
export const EVENT_SCHEMA: SchemaNode = map("the event that triggered the rule", {
  type: leaf("event type"),
  ts: leaf("event time"),
});

/** `logical`: the logical call of `leg`. */
export const LOGICAL_SCHEMA: SchemaNode = map("the logical call of `leg`", {
  id: leaf("logical call id"),
  scenarios: list("scenarios so far", leaf("a scenario")),
  labels: list("labels so far", leaf("a label")),
  legCount: leaf("number of legs"),
  answered: leaf("whether any leg was answered"),
  master: leaf("id of the master leg, when set"),
});

/** `message`: the SIP message, on `sip.request` and `sip.response` triggers. */
export const MESSAGE_SCHEMA: SchemaNode = map("the SIP message (sip.* triggers)", {
  method: leaf("method (of the request, or of the CSeq for a response)"),
  status: leaf("status code, or null for a request"),
  requestUser: leaf("user part of the Request-URI"),
  fromUser: leaf("user part of From"),
  toUser: leaf("user part of To"),
  callId: leaf("Call-ID"),
  headers: { kind: "open", doc: "headers by lower-case name (first value)" },
});

/**
 * Whether a dotted path exists in a schema node (list indexes are numbers).
 *
 * @param node The schema.
 * @param parts The path after the root.
 * @returns Whether the path names a documented field.
 */
export function pathExists(node: SchemaNode, parts: string[]): boolean {
  let current: SchemaNode = node;
  for (const part of parts) {
    switch (current.kind) {
      case "open":
        return true;
      case "leaf":
        return false;
      case "list":
        if (part === "length") return true;
        if (!/^\d+$/.test(part)) return false;
        current = current.element;
        break;
      case "map": {
        const next: SchemaNode | undefined = Object.hasOwn(current.fields, part)
          ? current.fields[part]
          : undefined;
        if (!next) return false;
        current = next;
      }
    }
  }
  return true;
}

/**
 * Whether a path exists in a plain value (for `site.*`, whose keys come from the site file).
 *
 * @param value The site variables.
 * @param parts The path after `site`.
 * @returns Whether each step exists.
 */
export function valuePathExists(value: unknown, parts: string[]): boolean {
  let current = value;
  for (const part of parts) {
    if (Array.isArray(current)) {
      if (part === "length") return true;
      if (!/^\d+$/.test(part)) return false;
      current = current[Number(part)];
      continue;
    }
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, part)) {
      return false;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return true;
}
