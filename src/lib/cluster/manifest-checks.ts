/**
 * What the -f loader checks of a manifest before taking it in: a Kubernetes object (apiVersion, kind,
 * metadata.name), and the fields of pods, nodes, services and workloads that the engine reads having the
 * API's types, so that a file the API server would refuse is one error naming the file and line.
 */
import { parseIp } from '../engine/ipblock.js';
import { ManifestError } from '../errors.js';
import { isObject } from '../engine/json.js';

/** One top-level document (or List item) with where it came from. */
export interface Located {
  value: unknown;
  file: string;
  line: number;
  /** Lines of the elements of a List's `items`, when the parser knows them. */
  itemLines?: number[];
}

/** A Kubernetes object as far as the loader checks it. */
export interface RawObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** Checks that a document is a Kubernetes object: an object with apiVersion, kind and metadata.name. */
export function validateObject(doc: Located): RawObject {
  const { value, file, line } = doc;
  if (!isObject(value)) {
    const found = Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new ManifestError(`expected a Kubernetes object, found ${found}`, file, line);
  }
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      throw new ManifestError(`object has no ${field}`, file, line);
    }
  }
  const kind = value.kind as string;
  const isList = kind === 'List' || kind.endsWith('List');
  if (!isList) {
    const metadata = value.metadata;
    if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
      throw new ManifestError(`${kind} has no metadata.name`, file, line);
    }
    if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
      throw new ManifestError(`${kind} ${metadata.name}: metadata.namespace must be a string`, file, line);
    }
    checkLabels(metadata.labels, doc, 'metadata.labels');
  } else if (!isObject(value.metadata)) {
    value.metadata = {};
  }
  return value as RawObject;
}

/** Label values must be strings (`version: 1` in YAML is a number and the API rejects it). */
export function checkLabels(labels: unknown, doc: Located, field: string): Record<string, string> | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (!isObject(labels)) throw new ManifestError(`${field} must be a map of strings`, doc.file, doc.line);
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') {
      throw new ManifestError(`${field}.${key} must be a string (quote it)`, doc.file, doc.line);
    }
  }
  return labels as Record<string, string>;
}

/**
 * The fields of a Pod the engine reads must have the API's types (the API server would refuse the
 * object otherwise): spec.containers[].ports[], spec.hostNetwork, spec.nodeName,
 * status.phase/podIP/podIPs/hostIP/hostIPs, owners.
 */
export function checkPod(obj: RawObject, doc: Located): void {
  const problem = podProblem(obj);
  if (problem) throw new ManifestError(`Pod ${obj.metadata.name}: ${problem}`, doc.file, doc.line);
}

function podProblem(obj: RawObject): string | undefined {
  const owners = obj.metadata.ownerReferences;
  if (owners !== undefined && owners !== null) {
    if (!Array.isArray(owners)) return 'metadata.ownerReferences must be a list';
    const bad = owners.findIndex((o) => !isObject(o) || typeof o.kind !== 'string' || typeof o.name !== 'string');
    if (bad >= 0) return `metadata.ownerReferences[${bad}] must be an object with kind and name`;
  }
  const { spec, status } = obj;
  if (spec !== undefined && spec !== null) {
    if (!isObject(spec)) return 'spec must be an object';
    if (spec.hostNetwork !== undefined && spec.hostNetwork !== null && typeof spec.hostNetwork !== 'boolean') {
      return 'spec.hostNetwork must be true or false';
    }
    if (spec.nodeName !== undefined && spec.nodeName !== null && typeof spec.nodeName !== 'string') {
      return 'spec.nodeName must be a string';
    }
    const problem = checkContainers(spec.containers, 'spec.containers');
    if (problem) return problem;
  }
  if (status === undefined || status === null) return undefined;
  if (!isObject(status)) return 'status must be an object';
  for (const field of ['phase', 'podIP', 'hostIP'] as const) {
    const value = status[field];
    if (value !== undefined && value !== null && typeof value !== 'string') return `status.${field} must be a string`;
  }
  for (const field of ['podIPs', 'hostIPs'] as const) {
    const ips = status[field];
    if (ips === undefined || ips === null) continue;
    if (!Array.isArray(ips)) return `status.${field} must be a list`;
    const bad = ips.findIndex((ip) => !isObject(ip) || (ip.ip !== undefined && typeof ip.ip !== 'string'));
    if (bad >= 0) return `status.${field}[${bad}] must be an object with a string ip`;
  }
  return undefined;
}

/**
 * The fields of a Node the tiers' nodes peers read (metadata.labels is checked with every object):
 * status.addresses, a list of {type, address} strings, and an InternalIP or ExternalIP an IP address.
 */
export function checkNode(obj: RawObject, doc: Located): void {
  const problem = nodeProblem(obj.status);
  if (problem) throw new ManifestError(`Node ${obj.metadata.name}: ${problem}`, doc.file, doc.line);
}

function nodeProblem(status: unknown): string | undefined {
  if (status === undefined || status === null) return undefined;
  if (!isObject(status)) return 'status must be an object';
  const addresses = status.addresses;
  if (addresses === undefined || addresses === null) return undefined;
  if (!Array.isArray(addresses)) return 'status.addresses must be a list';
  for (const [i, a] of addresses.entries()) {
    if (!isObject(a) || typeof a.type !== 'string' || typeof a.address !== 'string')
      return `status.addresses[${i}] must be an object with a string type and address`;
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && parseIp(a.address) === undefined)
      return `status.addresses[${i}].address must be an IP address (type ${a.type}), found "${a.address}"`;
  }
  return undefined;
}

/** containers[].ports[]: a list of objects; name a string, containerPort 1-65535, protocol TCP/UDP/SCTP. */
export function checkContainers(containers: unknown, field: string): string | undefined {
  if (containers === undefined || containers === null) return undefined;
  if (!Array.isArray(containers)) return `${field} must be a list`;
  for (const [i, container] of containers.entries()) {
    if (!isObject(container)) return `${field}[${i}] must be an object`;
    const ports = container.ports;
    if (ports === undefined || ports === null) continue;
    if (!Array.isArray(ports)) return `${field}[${i}].ports must be a list`;
    for (const [j, port] of ports.entries()) {
      const at = `${field}[${i}].ports[${j}]`;
      if (!isObject(port)) return `${at} must be an object`;
      if (port.name !== undefined && port.name !== null && typeof port.name !== 'string') {
        return `${at}.name must be a string`;
      }
      const n = port.containerPort;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
        return `${at}.containerPort must be a port number (1-65535)`;
      }
      if (
        port.protocol !== undefined &&
        port.protocol !== null &&
        !['TCP', 'UDP', 'SCTP'].includes(port.protocol as string)
      ) {
        return `${at}.protocol must be TCP, UDP or SCTP`;
      }
    }
  }
  return undefined;
}

/** A Service's spec.selector (a map of strings) and spec.ports (objects with a port number). */
export function checkService(obj: RawObject, doc: Located): void {
  const spec = obj.spec;
  let problem: string | undefined;
  if (spec !== undefined && spec !== null) {
    if (!isObject(spec)) problem = 'spec must be an object';
    else {
      problem = checkStringMap(spec.selector, 'spec.selector');
      const ports = spec.ports;
      if (!problem && ports !== undefined && ports !== null) {
        if (!Array.isArray(ports)) problem = 'spec.ports must be a list';
        else {
          const bad = ports.findIndex(
            (p) =>
              !isObject(p) ||
              typeof p.port !== 'number' ||
              (p.name !== undefined && p.name !== null && typeof p.name !== 'string') ||
              (p.protocol !== undefined && p.protocol !== null && typeof p.protocol !== 'string') ||
              (p.targetPort !== undefined &&
                p.targetPort !== null &&
                !['number', 'string'].includes(typeof p.targetPort)),
          );
          if (bad >= 0) problem = `spec.ports[${bad}] must be an object with a port number`;
        }
      }
    }
  }
  if (problem) throw new ManifestError(`Service ${obj.metadata.name}: ${problem}`, doc.file, doc.line);
}

export function checkStringMap(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    return `${field} must be a map of strings`;
  }
  return undefined;
}

/** A workload's spec.selector: matchLabels a map of strings, matchExpressions a list of {key, operator, values}. */
export function checkSelector(selector: unknown): string | undefined {
  if (selector === undefined || selector === null) return undefined;
  if (!isObject(selector)) return 'spec.selector must be a label selector';
  const problem = checkStringMap(selector.matchLabels, 'spec.selector.matchLabels');
  if (problem) return problem;
  const exprs = selector.matchExpressions;
  if (exprs === undefined || exprs === null) return undefined;
  if (!Array.isArray(exprs)) return 'spec.selector.matchExpressions must be a list';
  const bad = exprs.findIndex(
    (e) =>
      !isObject(e) ||
      typeof e.key !== 'string' ||
      typeof e.operator !== 'string' ||
      (e.values !== undefined &&
        e.values !== null &&
        (!Array.isArray(e.values) || e.values.some((v) => typeof v !== 'string'))),
  );
  return bad >= 0 ? `spec.selector.matchExpressions[${bad}] must be {key, operator, values: [strings]}` : undefined;
}
