/** LabelSelector semantics, exactly as apimachinery's labels.Requirement.Matches. */
import type { V1LabelSelector } from '@kubernetes/client-node';

/** A syntax error in a kubectl-style label selector, with the offending text. */
export class SelectorSyntaxError extends Error {}

/**
 * Parses kubectl `-l` syntax (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma = AND)
 * into a LabelSelector: equality becomes matchLabels, the rest matchExpressions.
 */
export function parseSelector(text: string): V1LabelSelector {
  void text;
  throw new SelectorSyntaxError('parseSelector: not implemented yet');
}
