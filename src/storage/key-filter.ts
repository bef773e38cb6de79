/**
 * The keys a directory holds, as a Bloom filter: "absent" is certain, "present" is a maybe.
 * Creating an actor by key first asks the directory whether the key is taken, and for a new key
 * that lookup (a B-tree descent in SQLite, whose page cache the commit thread's writes keep
 * emptying) was a tenth of the server's work per create. A key the filter has never seen is new.
 *
 * It grows by layers instead of rebuilding: each new layer holds four times the last, and a key
 * is looked up in all of them. At 12 bits per key and 8 probes a full layer answers "maybe"
 * wrongly for about 0.3% of absent keys, which then cost the lookup they would have cost anyway.
 */
const BITS_PER_KEY = 12;
const PROBES = 8;
const FIRST_CAPACITY = 1 << 16;
const GROWTH = 4;

interface Layer {
  readonly bits: Uint32Array;
  /** Bit index mask: the layer's size in bits is a power of two. */
  readonly mask: number;
  readonly capacity: number;
  count: number;
}

export class KeyFilter {
  private readonly layers: Layer[] = [];

  constructor() {
    this.layers.push(layer(FIRST_CAPACITY));
  }

  add(slot: string): void {
    let top = this.layers[this.layers.length - 1]!;
    if (top.count >= top.capacity) this.layers.push((top = layer(top.capacity * GROWTH)));
    const [h1, h2] = hashes(slot);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + Math.imul(i, h2)) & top.mask;
      top.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    top.count++;
  }

  /** False: `slot` was never added. True: it may have been. */
  mightContain(slot: string): boolean {
    const [h1, h2] = hashes(slot);
    for (const l of this.layers) {
      let all = true;
      for (let i = 0; i < PROBES && all; i++) {
        const bit = (h1 + Math.imul(i, h2)) & l.mask;
        all = (l.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
      }
      if (all) return true;
    }
    return false;
  }

  /** Bytes held, for the docs' memory figures. */
  get bytes(): number {
    return this.layers.reduce((n, l) => n + l.bits.byteLength, 0);
  }
}

function layer(capacity: number): Layer {
  let size = 32;
  while (size < capacity * BITS_PER_KEY) size *= 2;
  return { bits: new Uint32Array(size / 32), mask: size - 1, capacity, count: 0 };
}

// Reused by every call (its callers destructure it at once): no array per lookup.
const pair: [number, number] = [0, 0];

/** Two 32-bit hashes of the string (FNV-1a and a multiply-xorshift), mixed; the second is odd. */
function hashes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  pair[0] = fmix(a) >>> 0;
  pair[1] = (fmix(b) | 1) >>> 0;
  return pair;
}

/** MurmurHash3's finalizer: every input bit moves every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
