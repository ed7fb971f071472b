import { describe, expect, it } from '@jest/globals';

import { tierVersionsToRead } from '../../src/lib/cluster/tier-policies.js';

describe('tierVersionsToRead', () => {
  it.each([
    [
      ['v1beta1', 'v1alpha2', 'v1alpha1'],
      { AdminNetworkPolicy: 'v1alpha1', BaselineAdminNetworkPolicy: 'v1alpha1', ClusterNetworkPolicy: 'v1beta1' },
    ],
    [
      ['v1alpha1', 'v1alpha2', 'v1beta1'],
      { AdminNetworkPolicy: 'v1alpha1', BaselineAdminNetworkPolicy: 'v1alpha1', ClusterNetworkPolicy: 'v1beta1' },
    ],
    [['v1alpha2'], { ClusterNetworkPolicy: 'v1alpha2' }],
    [['v1alpha1'], { AdminNetworkPolicy: 'v1alpha1', BaselineAdminNetworkPolicy: 'v1alpha1' }],
    [['v1', 'v2alpha1'], {}],
    [[], {}],
  ])('reads %j as %j: the newest version this tool knows, whatever order discovery lists them in', (served, read) => {
    expect(tierVersionsToRead(served)).toEqual(read);
  });
});
