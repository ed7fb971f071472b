/**
 * `audit -o sarif`: SARIF 2.1.0 (OASIS), for code-scanning dashboards. One run, the finding ids as the
 * driver's rules, one result per finding; a finding about an object read from a -f file is located at
 * the file and line of its document, every finding names its object as a logical location.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ObjectOrigin } from '../cluster/types.js';
import type { Finding, FindingId, Severity } from '../engine/audit.js';
import { FINDING_IDS, findingKey } from '../engine/audit.js';
import type { AuditResult } from '../services/audit.js';
import { FINDING_CATALOGUE, formatFix, formatMessage, formatObject } from './audit.js';

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** SARIF's levels for our severities. */
const LEVELS: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** A file as an artifact URI: relative to the working directory when below it (forward slashes), else a file: URL. */
function artifactUri(file: string, cwd: string): string {
  const inside = isAbsolute(file) ? relative(cwd, file) : file;
  if (isAbsolute(inside) || inside.startsWith('..')) return pathToFileURL(file).href;
  return inside.split(sep).map(encodeURIComponent).join('/');
}

/** Where a finding's object was read from, if from a file: `Kind/namespace/name` or `Kind/name` (loader keys). */
function originOf(finding: Finding, origins: ReadonlyMap<string, ObjectOrigin>): ObjectOrigin | undefined {
  const { kind, name } = finding.object;
  const isClusterScoped = finding.namespace === undefined || kind === 'Namespace';
  return origins.get(isClusterScoped ? `${kind}/${name}` : `${kind}/${finding.namespace}/${name}`);
}

/** The SARIF document of an audit; `origins` from the -f loader, `version` the tool's. */
export function toSarifDocument(
  result: AuditResult,
  opts: { origins?: ReadonlyMap<string, ObjectOrigin>; version: string; cwd?: string },
): unknown {
  const ids = Object.keys(FINDING_IDS) as FindingId[];
  const cwd = opts.cwd ?? process.cwd();
  const rules = ids.map((id) => ({
    id,
    name: id.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase()),
    shortDescription: { text: FINDING_CATALOGUE[id].title },
    fullDescription: { text: FINDING_CATALOGUE[id].description },
    defaultConfiguration: { level: LEVELS[FINDING_IDS[id]] },
    properties: { severity: FINDING_IDS[id] },
  }));
  const results = result.findings.map((finding) => {
    const origin = opts.origins ? originOf(finding, opts.origins) : undefined;
    const qualified = `${finding.namespace === undefined ? '' : `${finding.namespace}/`}${formatObject(finding)}`;
    return {
      ruleId: finding.id,
      ruleIndex: ids.indexOf(finding.id),
      level: LEVELS[finding.severity],
      message: { text: `${formatMessage(finding)}. Fix: ${formatFix(finding)}` },
      locations: [
        {
          ...(origin
            ? {
                physicalLocation: {
                  artifactLocation: { uri: artifactUri(origin.file, cwd) },
                  region: { startLine: origin.line },
                },
              }
            : {}),
          logicalLocations: [{ name: finding.object.name, fullyQualifiedName: qualified, kind: 'object' }],
        },
      ],
      partialFingerprints: { findingKey: `${finding.id}|${qualified}|${findingKey(finding)}` },
      properties: {
        severity: finding.severity,
        ...(finding.namespace === undefined ? {} : { namespace: finding.namespace }),
        object: finding.object,
        fix: formatFix(finding),
      },
    };
  });
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'kubectl-netpol',
            semanticVersion: opts.version,
            version: opts.version,
            rules,
          },
        },
        results,
      },
    ],
  };
}
