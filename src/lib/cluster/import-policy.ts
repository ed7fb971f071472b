/**
 * `allow --import`: a NetworkPolicy document in an older shape (the 2016 net.alpha.kubernetes.io/v1alpha1
 * `allowIncoming`, extensions/v1beta1) or in networking.k8s.io/v1, read from a file and translated into
 * a v1 policy in the snapshot's shape (`_from`), or refused naming the fields it cannot carry over.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';

import { ManifestError } from '../errors.js';
import { isObject } from '../engine/json.js';

/** A policy that cannot be translated into networking.k8s.io/v1, with the fields at fault. */
export class TranslationError extends Error {
  constructor(
    message: string,
    readonly fields: string[],
  ) {
    super(message);
  }
}

/** The 2016 proposal's API version: `allowIncoming`, selectors as plain label maps. */
const ALPHA_VERSION = 'net.alpha.kubernetes.io/v1alpha1';
/** API versions --import reads. */
const IMPORTABLE_VERSIONS = [ALPHA_VERSION, 'extensions/v1beta1', 'networking.k8s.io/v1'] as const;

/** Metadata fields the API server sets; an import leaves them out. */
const SERVER_METADATA = new Set([
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = Record<string, unknown>;

/** Collects the fields an import cannot carry over, by path. */
class FieldCheck {
  readonly unknown: string[] = [];
  /** Records every key of `value` at `path` that is not in `known`. */
  only(value: Json, path: string, known: readonly string[]): void {
    for (const key of Object.keys(value)) if (!known.includes(key)) this.unknown.push(`${path}.${key}`);
  }
}

/** A plain label map (v1alpha1's selectors) as a LabelSelector. */
function labelMap(value: unknown, path: string, check: FieldCheck): V1LabelSelector {
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    check.unknown.push(`${path} (expected a map of label strings)`);
    return {};
  }
  return Object.keys(value).length ? { matchLabels: { ...(value as Record<string, string>) } } : {};
}

function listAt(value: unknown, path: string, check: FieldCheck): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    check.unknown.push(`${path} (expected a list)`);
    return [];
  }
  return value;
}

/** net.alpha.kubernetes.io/v1alpha1: podSelector and peers are plain label maps; allowIncoming holds from and toPorts. */
function translateAlphaSpec(spec: Json, check: FieldCheck): V1NetworkPolicy['spec'] {
  check.only(spec, 'spec', ['podSelector', 'allowIncoming']);
  const podSelector = spec.podSelector === undefined ? {} : labelMap(spec.podSelector, 'spec.podSelector', check);
  // allowIncoming was one rule; some drafts made it a list. Absent: the pods accept nothing.
  const incoming = spec.allowIncoming;
  const rulesIn = Array.isArray(incoming) ? incoming : incoming === undefined || incoming === null ? [] : [incoming];
  const ingress = rulesIn.map((rule, i): V1NetworkPolicyIngressRule => {
    const at = Array.isArray(incoming) ? `spec.allowIncoming[${i}]` : 'spec.allowIncoming';
    if (!isObject(rule)) {
      check.unknown.push(`${at} (expected an object)`);
      return {};
    }
    check.only(rule, at, ['from', 'toPorts']);
    const out: V1NetworkPolicyIngressRule = {};
    if (rule.from !== undefined && rule.from !== null) {
      out._from = listAt(rule.from, `${at}.from`, check).map((peer, j) => {
        const pat = `${at}.from[${j}]`;
        if (!isObject(peer)) {
          check.unknown.push(`${pat} (expected an object)`);
          return {};
        }
        check.only(peer, pat, ['pods', 'namespaces']);
        // A v1alpha1 peer named exactly one of pods or namespaces.
        if (peer.pods !== undefined && peer.namespaces !== undefined) {
          check.unknown.push(`${pat} (both pods and namespaces: v1alpha1 allows one)`);
        }
        if (peer.pods !== undefined) return { podSelector: labelMap(peer.pods, `${pat}.pods`, check) };
        if (peer.namespaces !== undefined) {
          return { namespaceSelector: labelMap(peer.namespaces, `${pat}.namespaces`, check) };
        }
        check.unknown.push(`${pat} (names neither pods nor namespaces)`);
        return {};
      });
    }
    if (rule.toPorts !== undefined && rule.toPorts !== null) {
      out.ports = listAt(rule.toPorts, `${at}.toPorts`, check).map((port, j) => {
        const pat = `${at}.toPorts[${j}]`;
        if (!isObject(port)) {
          check.unknown.push(`${pat} (expected an object)`);
          return {};
        }
        check.only(port, pat, ['port', 'protocol']);
        const out: V1NetworkPolicyPort = {};
        if (port.protocol !== undefined) out.protocol = String(port.protocol);
        else out.protocol = 'TCP';
        if (port.port !== undefined) out.port = port.port as number | string;
        return out;
      });
    }
    return out;
  });
  return { podSelector, policyTypes: ['Ingress'], ingress };
}

function translatePeers(value: unknown, path: string, check: FieldCheck): V1NetworkPolicyPeer[] {
  return listAt(value, path, check).map((peer, i) => {
    if (!isObject(peer)) {
      check.unknown.push(`${path}[${i}] (expected an object)`);
      return {};
    }
    check.only(peer, `${path}[${i}]`, ['podSelector', 'namespaceSelector', 'ipBlock']);
    return { ...peer } as V1NetworkPolicyPeer;
  });
}

function translatePorts(value: unknown, path: string, check: FieldCheck): V1NetworkPolicyPort[] {
  return listAt(value, path, check).map((port, i) => {
    if (!isObject(port)) {
      check.unknown.push(`${path}[${i}] (expected an object)`);
      return {};
    }
    check.only(port, `${path}[${i}]`, ['port', 'endPort', 'protocol']);
    return { ...port } as V1NetworkPolicyPort;
  });
}

/** extensions/v1beta1 and networking.k8s.io/v1 share the spec; only known fields are carried over. */
function translateV1Spec(spec: Json, check: FieldCheck): V1NetworkPolicy['spec'] {
  check.only(spec, 'spec', ['podSelector', 'policyTypes', 'ingress', 'egress']);
  if (spec.podSelector !== undefined && !isObject(spec.podSelector))
    check.unknown.push('spec.podSelector (expected a label selector)');
  const out: V1NetworkPolicy['spec'] = { podSelector: isObject(spec.podSelector) ? { ...spec.podSelector } : {} };
  if (spec.policyTypes !== undefined) out.policyTypes = listAt(spec.policyTypes, 'spec.policyTypes', check) as string[];
  if (spec.ingress !== undefined) {
    out.ingress = listAt(spec.ingress, 'spec.ingress', check).map((rule, i) => {
      const at = `spec.ingress[${i}]`;
      if (!isObject(rule)) return {};
      check.only(rule, at, ['from', '_from', 'ports']);
      const typed: V1NetworkPolicyIngressRule = {};
      const from = rule.from ?? rule._from;
      if (from !== undefined && from !== null) typed._from = translatePeers(from, `${at}.from`, check);
      if (rule.ports !== undefined && rule.ports !== null)
        typed.ports = translatePorts(rule.ports, `${at}.ports`, check);
      return typed;
    });
  }
  if (spec.egress !== undefined) {
    out.egress = listAt(spec.egress, 'spec.egress', check).map((rule, i) => {
      const at = `spec.egress[${i}]`;
      if (!isObject(rule)) return {};
      check.only(rule, at, ['to', 'ports']);
      const typed: V1NetworkPolicyEgressRule = {};
      if (rule.to !== undefined && rule.to !== null) typed.to = translatePeers(rule.to, `${at}.to`, check);
      if (rule.ports !== undefined && rule.ports !== null)
        typed.ports = translatePorts(rule.ports, `${at}.ports`, check);
      return typed;
    });
  }
  return out;
}

/**
 * Whether a spec has the v1alpha1 shape and nothing else: `podSelector` absent or a plain label map,
 * `allowIncoming`, no other field.
 */
function isAlphaShape(spec: unknown): boolean {
  if (!isObject(spec)) return spec === undefined;
  const selector = spec.podSelector;
  const isLabelMap =
    selector === undefined || (isObject(selector) && Object.values(selector).every((v) => typeof v === 'string'));
  return isLabelMap && Object.keys(spec).every((key) => key === 'podSelector' || key === 'allowIncoming');
}

/**
 * The document's API version. The 2016 proposal POSTed its body to
 * /apis/net.alpha.kubernetes.io/v1alpha1/namespaces/NS/networkpolicies, the URL naming the version and
 * the namespace: a body without apiVersion, in the v1alpha1 shape, is that request body.
 */
function versionOf(document: Json): unknown {
  if (document.apiVersion !== undefined) return document.apiVersion;
  if (isAlphaShape(document.spec)) return ALPHA_VERSION;
  throw new TranslationError(
    `no apiVersion, and the spec is not the 2016 ${ALPHA_VERSION} shape (podSelector a label map, allowIncoming): add an apiVersion`,
    ['apiVersion'],
  );
}

/**
 * Translates a NetworkPolicy document (v1alpha1, also as the seed's request body without apiVersion;
 * extensions/v1beta1 or networking.k8s.io/v1) into networking.k8s.io/v1 in client-node's typed shape. Server-set metadata is dropped; any other field
 * it cannot carry over is a TranslationError naming the fields.
 */
export function translatePolicy(document: unknown): V1NetworkPolicy {
  if (!isObject(document)) throw new TranslationError('not a Kubernetes object', []);
  const { kind } = document;
  if (kind !== 'NetworkPolicy') {
    throw new TranslationError(`kind ${String(kind)} is not a NetworkPolicy`, ['kind']);
  }
  const apiVersion = versionOf(document);
  if (!(IMPORTABLE_VERSIONS as readonly unknown[]).includes(apiVersion)) {
    throw new TranslationError(`apiVersion ${String(apiVersion)} is not one of ${IMPORTABLE_VERSIONS.join(', ')}`, [
      'apiVersion',
    ]);
  }
  const check = new FieldCheck();
  check.only(document, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metadata = isObject(document.metadata) ? document.metadata : {};
  const known = ['name', 'namespace', 'labels', 'annotations', ...SERVER_METADATA];
  check.only(metadata, 'metadata', known);
  const spec = isObject(document.spec) ? document.spec : {};
  const translated = apiVersion === ALPHA_VERSION ? translateAlphaSpec(spec, check) : translateV1Spec(spec, check);
  if (check.unknown.length > 0) {
    const fields = check.unknown.map((f) => f.replace(/^\./, ''));
    throw new TranslationError(`cannot translate ${fields.join(', ')} into networking.k8s.io/v1`, fields);
  }
  const outMeta: V1NetworkPolicy['metadata'] = {};
  if (typeof metadata.name === 'string') outMeta.name = metadata.name;
  if (typeof metadata.namespace === 'string') outMeta.namespace = metadata.namespace;
  if (isObject(metadata.labels)) outMeta.labels = { ...(metadata.labels as Record<string, string>) };
  if (isObject(metadata.annotations)) {
    const annotations = Object.entries(metadata.annotations as Record<string, string>).filter(
      ([k]) => k !== LAST_APPLIED,
    );
    if (annotations.length) outMeta.annotations = Object.fromEntries(annotations);
  }
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: outMeta, spec: translated };
}

/** Reads and translates an --import file: one NetworkPolicy, YAML or JSON; anything else names the file. */
export async function readPolicyFile(file: string): Promise<V1NetworkPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ManifestError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, file);
  }
  const documents = parseAllDocuments(text).filter((d) => d.contents !== null);
  const broken = documents.find((d) => d.errors.length > 0);
  if (broken) throw new ManifestError(broken.errors[0].message.split('\n')[0], file);
  if (documents.length !== 1)
    throw new ManifestError(`holds ${documents.length} documents; --import reads one NetworkPolicy`, file);
  try {
    return translatePolicy(documents[0].toJS());
  } catch (error) {
    if (error instanceof TranslationError) {
      throw new ManifestError(
        error.message,
        file,
        undefined,
        'write the policy in networking.k8s.io/v1, or drop those fields',
      );
    }
    throw error;
  }
}
