/**
 * A node of a trie keyed by numbers: a path of numbers (rule ids, atom indexes, ...) leads to a value,
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
