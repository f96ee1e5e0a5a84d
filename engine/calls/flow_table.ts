/**
 * A hash table keyed by four 32-bit integers (for IPv4 flows: source and
 * destination address, both ports, and a tag), with open addressing over
 * typed arrays: the per-packet lookup allocates nothing and builds no
 * string.
 *
 * @module
 */

const EMPTY = -1;

/** Maps four-integer keys to values. */
export class FlowTable<T> {
  #keys: Int32Array;
  #slots: Int32Array;
  #values: (T | undefined)[] = [];
  #free: number[] = [];
  #mask: number;
  #size = 0;

  /** @param capacity Initial slot count (rounded up to a power of two). */
  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity) n <<= 1;
    this.#mask = n - 1;
    this.#slots = new Int32Array(n).fill(EMPTY);
    this.#keys = new Int32Array(n * 4);
  }

  /** Entries stored. */
  get size(): number {
    return this.#size;
  }

  /**
   * Looks a key up.
   *
   * @returns The value, or `undefined`.
   */
  get(a: number, b: number, c: number, d: number): T | undefined {
    const keys = this.#keys;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash(a, b, c, d) & mask;
    for (;;) {
      const v = slots[i]!;
      if (v === EMPTY) return undefined;
      const k = i << 2;
      if (
        keys[k] === (a | 0) && keys[k + 1] === (b | 0) && keys[k + 2] === (c | 0) &&
        keys[k + 3] === (d | 0)
      ) {
        return this.#values[v];
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Stores a value under a key, replacing any value there.
   *
   * @param value The value.
   */
  set(a: number, b: number, c: number, d: number, value: T): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const keys = this.#keys;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash(a, b, c, d) & mask;
    for (;;) {
      const v = slots[i]!;
      const k = i << 2;
      if (v === EMPTY) {
        const index = this.#free.pop() ?? this.#values.length;
        this.#values[index] = value;
        slots[i] = index;
        keys[k] = a;
        keys[k + 1] = b;
        keys[k + 2] = c;
        keys[k + 3] = d;
        this.#size++;
        return;
      }
      if (
        keys[k] === (a | 0) && keys[k + 1] === (b | 0) && keys[k + 2] === (c | 0) &&
        keys[k + 3] === (d | 0)
      ) {
        this.#values[v] = value;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Removes a key.
   *
   * @returns Whether it was there.
   */
  delete(a: number, b: number, c: number, d: number): boolean {
    const keys = this.#keys;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash(a, b, c, d) & mask;
    for (;;) {
      const v = slots[i]!;
      if (v === EMPTY) return false;
      const k = i << 2;
      if (
        keys[k] === (a | 0) && keys[k + 1] === (b | 0) && keys[k + 2] === (c | 0) &&
        keys[k + 3] === (d | 0)
      ) {
        this.#values[v] = undefined;
        this.#free.push(v);
        this.#size--;
        this.#shiftBack(i);
        return true;
      }
      i = (i + 1) & mask;
    }
  }

  /** Every value stored. */
  *values(): IterableIterator<T> {
    for (const v of this.#values) if (v !== undefined) yield v;
  }

  /** Removes everything. */
  clear(): void {
    this.#slots.fill(EMPTY);
    this.#values = [];
    this.#free = [];
    this.#size = 0;
  }

  /** Backward-shift deletion: keeps probe chains intact without tombstones. */
  #shiftBack(hole: number): void {
    const keys = this.#keys;
    const slots = this.#slots;
    const mask = this.#mask;
    slots[hole] = EMPTY;
    let i = (hole + 1) & mask;
    while (slots[i] !== EMPTY) {
      const k = i << 2;
      const home = hash(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!) & mask;
      // Move the entry into the hole when its home is not between the hole and its slot.
      const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (!between) {
        const h = hole << 2;
        keys[h] = keys[k]!;
        keys[h + 1] = keys[k + 1]!;
        keys[h + 2] = keys[k + 2]!;
        keys[h + 3] = keys[k + 3]!;
        slots[hole] = slots[i]!;
        slots[i] = EMPTY;
        hole = i;
      }
      i = (i + 1) & mask;
    }
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldSlots = this.#slots;
    const n = oldSlots.length * 2;
    this.#mask = n - 1;
    this.#slots = new Int32Array(n).fill(EMPTY);
    this.#keys = new Int32Array(n * 4);
    for (let j = 0; j < oldSlots.length; j++) {
      const v = oldSlots[j]!;
      if (v === EMPTY) continue;
      const k = j << 2;
      let i = hash(oldKeys[k]!, oldKeys[k + 1]!, oldKeys[k + 2]!, oldKeys[k + 3]!) & this.#mask;
      while (this.#slots[i] !== EMPTY) i = (i + 1) & this.#mask;
      this.#slots[i] = v;
      const t = i << 2;
      this.#keys[t] = oldKeys[k]!;
      this.#keys[t + 1] = oldKeys[k + 1]!;
      this.#keys[t + 2] = oldKeys[k + 2]!;
      this.#keys[t + 3] = oldKeys[k + 3]!;
    }
  }
}

/** Mixes four integers into a well-spread 32-bit hash. */
function hash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ d, 0x165667b1);
  return (h ^ (h >>> 16)) >>> 0;
}
