/**
 * bench/compare-peer.ts's reason for the peer answering wider than we do: one range from the lowest
 * to the highest of ports we list apart, and nothing else.
 */
import { describe, expect, it } from '@jest/globals';

import { joinsRanges } from '../../bench/compare-peer.js';

describe('joinsRanges', () => {
  it('is the peer filling the gaps between our ranges of one protocol', () => {
    expect(joinsRanges('TCP 8000-8999,50051', 'TCP 8000-50051')).toBe(true);
    expect(joinsRanges('TCP 80,443,8000-8999', 'TCP 80-8999')).toBe(true);
    expect(joinsRanges('TCP 80,443;UDP 53,5353', 'TCP 80-443;UDP 53-5353')).toBe(true);
    // Two joined stretches, one gap kept.
    expect(joinsRanges('TCP 80,443,8000,9000', 'TCP 80-443,8000-9000')).toBe(true);
  });

  it('is not any other difference', () => {
    // Equal, missing on one side, everything.
    expect(joinsRanges('TCP 80', 'TCP 80')).toBe(false);
    expect(joinsRanges('', 'TCP 80')).toBe(false);
    expect(joinsRanges('TCP 80', '')).toBe(false);
    expect(joinsRanges('TCP 80,443', 'All Connections')).toBe(false);
    // Ends that are not ours, a port of ours left out, a protocol more or less.
    expect(joinsRanges('TCP 8000-8999,50051', 'TCP 7000-50051')).toBe(false);
    expect(joinsRanges('TCP 8000-8999,50051', 'TCP 8000-8999')).toBe(false);
    expect(joinsRanges('TCP 80,443', 'TCP 80-443;UDP 53')).toBe(false);
    expect(joinsRanges('TCP 80,443;UDP 53', 'TCP 80-443')).toBe(false);
    // Narrower: ours wider.
    expect(joinsRanges('TCP 80-443', 'TCP 80,443')).toBe(false);
  });
});
