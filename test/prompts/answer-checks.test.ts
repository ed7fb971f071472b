/**
 * allow's prompts say what is wrong with a typed answer in the prompt's words: never a flag
 * (--from, --to, --port) or PEER syntax (@NAMESPACES) the person did not type, never a field path.
 */
import { describe, expect, test } from '@jest/globals';

import {
  checkAddressBlock,
  checkNamespaceSelector,
  checkPodSelector,
  checkPorts,
} from '../../src/lib/prompts/answer-checks.js';

/** What no prompt message may say: flags, PEER syntax the prompt does not ask for, API field paths. */
const FOREIGN = /--(from|to|port|namespace)\b|@NAMESPACES|SELECTOR@|ipBlock|invalid value/;

/** Each check: what it accepts, and what it says of what it refuses. */
const CASES: [string, (text: string) => true | string, string[], [string, string][]][] = [
  [
    'the label selector of pods',
    checkPodSelector,
    ['app=web', 'segment in (a,b)', '!canary', '*', ' app=web '],
    [
      ['', 'type a label selector, such as app=web, or * for every pod'],
      ['app=web@tenant-b', 'type only the labels, such as app=web: the namespace is chosen apart'],
      ['@tenant-b', 'type only the labels, such as app=web: the namespace is chosen apart'],
      ['10.0.0.0/8', 'an address block is not a label selector: type labels, such as app=web'],
      ['app=we b', "not a label selector: expected ',' at position 8"],
    ],
  ],
  [
    'the label selector of namespaces',
    checkNamespaceSelector,
    ['env=prod', 'env in (prod,staging)', 'tenant-b', '*'],
    [
      ['', 'type a label selector of namespaces, such as env=prod'],
      ['env=prod@x', 'type only the labels, such as env=prod'],
      ['env=pr od', "not a label selector: expected ',' at position 8"],
    ],
  ],
  [
    'the address block',
    checkAddressBlock,
    ['10.0.0.0/8', '10.0.0.0/8!10.1.0.0/16', 'fd00::/8', '0.0.0.0/0'],
    [
      ['', 'type an address block, such as 10.0.0.0/8'],
      ['app=web', '"app=web" is not an address block: type one such as 10.0.0.0/8 or fd00::/8'],
      ['10.0.0.1', '"10.0.0.1" is not an address block: type one such as 10.0.0.0/8 or fd00::/8'],
      ['10.0.0.0/33', '"10.0.0.0/33" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)'],
      ['10.0.0.0/8!11.0.0.0/16', '"11.0.0.0/16" must be a strict subset of cidr "10.0.0.0/8"'],
    ],
  ],
  [
    'the ports',
    checkPorts,
    ['80', '53/UDP, 8000-9000', 'http', 'dns/udp,80'],
    [
      ['9000-8000', 'the end port must be >= the start port'],
      ['80, 9000-8000/TCP', '9000-8000/TCP: the end port must be >= the start port'],
      ['0', 'port number must be between 1 and 65535'],
      ['80/ICMP', 'protocol must be TCP, UDP or SCTP'],
      ['HTTP', 'port name "HTTP" must contain only lowercase alphanumerics and \'-\''],
      ['80,', 'type ports separated by commas, such as 80, 53/UDP or 8000-9000'],
      ['', 'type ports separated by commas, such as 80, 53/UDP or 8000-9000'],
    ],
  ],
];

describe.each(CASES)('%s', (_, check, accepted, refused) => {
  test.each(accepted)('accepts %j', (text) => {
    expect(check(text)).toBe(true);
  });
  test.each(refused)('refuses %j: %s', (text, message) => {
    expect(check(text)).toBe(message);
  });
});

test('no message names a flag, PEER syntax or a field path', () => {
  const refused = [
    checkPodSelector('app=web@x'),
    checkPodSelector('10.0.0.0/8'),
    checkPodSelector('a b'),
    checkNamespaceSelector('a b'),
    checkNamespaceSelector('@x'),
    checkAddressBlock('10.0.0.0/33'),
    checkAddressBlock('10.0.0.0/8!x'),
    checkAddressBlock('x'),
    checkPorts('70000'),
    checkPorts('/TCP'),
  ];
  for (const message of refused) {
    expect(message).not.toBe(true);
    expect(message).not.toMatch(FOREIGN);
  }
});
