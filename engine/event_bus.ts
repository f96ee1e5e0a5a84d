/**
 * A small synchronous event bus for the normalized event stream. Listeners
 * subscribe to one type or to all; a listener that throws is reported to
 * the bus's error handler and the others still run.
 *
 * @module
 */

import type { PacketwaveEvent, PacketwaveEventType } from "./events.ts";

/** The event of a given type. */
export type EventOf<T extends PacketwaveEventType> = PacketwaveEvent extends infer E
  ? E extends { type: infer U } ? T extends U ? E : never : never
  : never;

/** A listener of one event type. */
export type Listener<T extends PacketwaveEventType> = (event: EventOf<T>) => void;

/** Called when a listener throws; `owner` names who subscribed it. */
export type ListenerErrorHandler = (error: unknown, owner: string, event: PacketwaveEvent) => void;

interface Subscription {
  owner: string;
  fn: (event: PacketwaveEvent) => void;
}

/** Dispatches events to listeners by type. */
export class EventBus {
  readonly #byType = new Map<string, Subscription[]>();
  readonly #all: Subscription[] = [];
  #onError: ListenerErrorHandler;

  /** @param onError Receives listener errors; by default they are rethrown. */
  constructor(onError?: ListenerErrorHandler) {
    this.#onError = onError ?? ((error) => {
      throw error;
    });
  }

  /** Replaces the handler of listener errors. */
  set onError(handler: ListenerErrorHandler) {
    this.#onError = handler;
  }

  /**
   * Subscribes to one event type.
   *
   * @param type Event type, such as `sip.request`.
   * @param listener Called for each event of that type.
   * @param owner Name reported when the listener throws.
   */
  on<T extends PacketwaveEventType>(type: T, listener: Listener<T>, owner = "listener"): void {
    let list = this.#byType.get(type);
    if (!list) this.#byType.set(type, list = []);
    list.push({ owner, fn: listener as (event: PacketwaveEvent) => void });
  }

  /**
   * Subscribes to every event.
   *
   * @param listener Called for each event.
   * @param owner Name reported when the listener throws.
   */
  onAny(listener: (event: PacketwaveEvent) => void, owner = "listener"): void {
    this.#all.push({ owner, fn: listener });
  }

  /** Whether anyone listens to this type (lets producers skip building events nobody reads). */
  has(type: PacketwaveEventType): boolean {
    return this.#all.length > 0 || (this.#byType.get(type)?.length ?? 0) > 0;
  }

  /**
   * Delivers an event to its listeners, then to the listeners of all events.
   *
   * @param event The event.
   */
  emit(event: PacketwaveEvent): void {
    const list = this.#byType.get(event.type);
    if (list) { for (const s of list) this.#call(s, event); }
    for (const s of this.#all) this.#call(s, event);
  }

  #call(s: Subscription, event: PacketwaveEvent): void {
    try {
      s.fn(event);
    } catch (error) {
      this.#onError(error, s.owner, event);
    }
  }
}
