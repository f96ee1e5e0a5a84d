/**
 * Registrations: REGISTER transactions with their challenges, the AOR to
 * contact bindings a registrar accepted, and the extension-to-address map
 * that rules use to tell which phone is which.
 *
 * @module
 */

import type { EventBus } from "../event_bus.ts";
import type { Endpoint, SipRequestEvent, SipResponseEvent } from "../events.ts";
import { parseSipUri } from "../sip/uri.ts";
import type { SipRequest } from "../sip/types.ts";

/** One registration outcome. */
export interface Registration {
  /** Address of record: the To URI. */
  aor: string;
  /** User part of the AOR (the extension or number), or `null`. */
  user: string | null;
  /** The contact URI bound, or `null` (a query, or `Contact: *`). */
  contact: string | null;
  /** Host and port of the contact URI, when it names an address. */
  contactAddress: Endpoint | null;
  /** Who sent the REGISTER. */
  source: Endpoint;
  /** Seconds granted (from the 200's Contact or Expires), or `null`. */
  expires: number | null;
  /** `registered`, `unregistered` (expires 0) or `failed`. */
  status: "registered" | "unregistered" | "failed";
  /** Final status code. */
  statusCode: number;
  /** Whether the registrar challenged first (401/407). */
  challenged: boolean;
  /** Call-ID of the REGISTER. */
  callId: string;
  /** User-Agent of the registering device. */
  userAgent: string | null;
  /** Time of the final response. */
  ts: number;
}

interface Pending {
  request: SipRequest;
  src: Endpoint;
  ts: number;
}

/** Tracks REGISTER transactions and the bindings they made. */
export class RegistrationTracker {
  readonly #bus: EventBus;
  readonly #pending = new Map<string, Pending>();
  readonly #challenged = new Map<string, number>();
  readonly #bindings = new Map<string, Registration>();
  readonly #maxEntries: number;
  /** Registrations that completed (2xx). */
  registered = 0;
  /** Registrations refused (a final status other than 2xx, 401 and 407). */
  failed = 0;
  /** Challenges (401/407) answered to REGISTER. */
  challenges = 0;

  /**
   * @param bus Where `registration` events go.
   * @param maxEntries Cap on pending transactions and on bindings kept.
   */
  constructor(bus: EventBus, maxEntries = 100000) {
    this.#bus = bus;
    this.#maxEntries = maxEntries;
  }

  /**
   * Handles a request (only REGISTER matters).
   *
   * @param e The request event.
   */
  onRequest(e: SipRequestEvent): void {
    if (e.message.method.toUpperCase() !== "REGISTER" || !e.message.cseq) return;
    capSet(this.#pending, `${e.message.callId}\n${e.message.cseq.seq}`, {
      request: e.message,
      src: e.src,
      ts: e.ts,
    }, this.#maxEntries);
  }

  /**
   * Handles a response (only those to REGISTER matter).
   *
   * @param e The response event.
   */
  onResponse(e: SipResponseEvent): void {
    const m = e.message;
    if (m.cseq?.method.toUpperCase() !== "REGISTER" || m.status < 200) return;
    const key = `${m.callId}\n${m.cseq.seq}`;
    const pending = this.#pending.get(key);
    if (!pending) return;
    this.#pending.delete(key);
    if (m.status === 401 || m.status === 407) {
      this.challenges++;
      capSet(this.#challenged, m.callId, e.ts, this.#maxEntries);
      return;
    }
    const request = pending.request;
    const contactHeader = (m.status < 300 ? m.contacts[0] : undefined) ?? request.contacts[0];
    const contactUri = contactHeader?.uri ?? null;
    const expiresParam = contactHeader?.params.get("expires");
    const expiresHeader = m.headers.get("expires") ?? request.headers.get("expires");
    const expiresText = expiresParam ?? expiresHeader ?? null;
    const expires = expiresText !== null && /^\d+$/.test(expiresText.trim())
      ? Number(expiresText)
      : null;
    const aorUri = request.to?.uri ?? parseSipUri(request.requestUriRaw);
    const registration: Registration = {
      aor: request.to?.rawUri ?? request.requestUriRaw,
      user: aorUri?.user ?? null,
      contact: contactUri?.raw ?? null,
      contactAddress: contactUri && contactUri.host
        ? { ip: contactUri.host, port: contactUri.port ?? 5060 }
        : null,
      source: pending.src,
      expires,
      status: m.status >= 300 ? "failed" : expires === 0 ? "unregistered" : "registered",
      statusCode: m.status,
      challenged: this.#challenged.has(m.callId),
      callId: m.callId,
      userAgent: request.headers.get("user-agent") ?? null,
      ts: e.ts,
    };
    this.#challenged.delete(m.callId);
    if (registration.status === "failed") this.failed++;
    else this.registered++;
    if (registration.user !== null && registration.status !== "failed") {
      if (registration.status === "registered") {
        capSet(this.#bindings, registration.user, registration, this.#maxEntries);
      } else this.#bindings.delete(registration.user);
    }
    this.#bus.emit({ type: "registration", ts: e.ts, registration });
  }

  /**
   * The latest registration of a user (extension).
   *
   * @param user The AOR's user part.
   * @returns Its binding, or `undefined`.
   */
  binding(user: string): Registration | undefined {
    return this.#bindings.get(user);
  }

  /** Every current binding, by user. */
  bindings(): ReadonlyMap<string, Registration> {
    return this.#bindings;
  }

  /**
   * The registered user whose REGISTER came from an address, when there is one.
   *
   * @param ip Source address.
   * @returns The user part, or `null`.
   */
  userAt(ip: string): string | null {
    for (const [user, r] of this.#bindings) {
      if (r.source.ip === ip || r.contactAddress?.ip === ip) return user;
    }
    return null;
  }
}

/** Sets a key, evicting the oldest entry past the cap. */
function capSet<K, V>(map: Map<K, V>, key: K, value: V, cap: number): void {
  map.delete(key);
  if (map.size >= cap) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}
