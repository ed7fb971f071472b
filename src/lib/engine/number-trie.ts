/**
 * Numbers as keys. A node of a trie keyed by numbers: a path of numbers (rule ids, atom indexes, ...) leads to a value,
 * so a memo keyed by a sequence makes no key string or array per lookup.
 */
export class TrieNode<V> {
  value: V | undefined;
  private readonly next = new Map<number, TrieNode<V>>();

  /** The node one number further down, made when new. */
  step(n: number): TrieNode<V> {
    let node = this.next.get(n);
    if (!node) this.next.set(n, (node = new TrieNode<V>()));
    return node;
  }
}

/** Two ids (far fewer than 2^26 each) as one number. */
export function pairKey(a: number, b: number): number {
  return a * 0x4000000 + b;
}

/**
 * Two ids as one map key, a small integer while both are under 2^15 (V8 hashes those fastest), else
 * a negative number of their own.
 */
export function smallPair(a: number, b: number): number {
  return a < 0x8000 && b < 0x8000 ? a * 0x8000 + b : -1 - pairKey(a, b);
}
