// What @oclif/core's Plugin.load sorts the commands by, in place of String#localeCompare (patched in by
// scripts/build/bundle.mjs): the first localeCompare of a process loads ICU's collation data, some
// 10-15 ms of every start, and oclif's sort was the only call on the way to a `-f` answer. For ids
// made of lowercase letters, digits, `-`, `_` and `:` (ours) this orders them as localeCompare does:
// ICU's root collation puts `_` before `-` before `:` before the digits before the letters, all at
// the primary level, a shorter id before a longer one it begins. Any other id goes to localeCompare.
'use strict';

const RANK = new Map([...'_-:0123456789abcdefghijklmnopqrstuvwxyz'].map((c, i) => [c, i]));

/** Whether every character of an id has a rank. */
function isRanked(id) {
  for (const c of id) if (!RANK.has(c)) return false;
  return true;
}

exports.compareIds = function compareIds(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string' || !isRanked(a) || !isRanked(b)) {
    return String(a).localeCompare(b);
  }
  for (let i = 0; i < a.length && i < b.length; i++) {
    const [x, y] = [RANK.get(a[i]), RANK.get(b[i])];
    if (x !== y) return x < y ? -1 : 1;
  }
  return Math.sign(a.length - b.length);
};
