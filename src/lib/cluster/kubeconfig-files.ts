/**
 * Which kubeconfig files kubectl reads (--kubeconfig, else the KUBECONFIG list, else ~/.kube/config),
 * and the namespace of the context they select, read without client-node: what `-f` needs to put
 * objects that name no namespace where `kubectl apply -f FILE` would.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

import { readBlockDocument } from './yaml-block.js';

/** The kubeconfig files kubectl would read, in order (KUBECONFIG entries that do not exist are skipped, as kubectl does). */
export function kubeconfigFiles(opts: { kubeconfig?: string }, env: NodeJS.ProcessEnv): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((f) => f !== '' && existsSync(f));
  const config = join(env.HOME || env.USERPROFILE || homedir(), '.kube', 'config');
  return existsSync(config) ? [config] : [];
}

/** A kubeconfig as far as its contexts go. */
interface ContextsOnly {
  'current-context'?: unknown;
  contexts?: { name?: unknown; context?: { namespace?: unknown } }[];
}

/**
 * The namespace of the context kubectl would use (--context, else the first current-context of the
 * files; each context name taken from the first file defining it), or undefined when there is none
 * or the kubeconfig cannot be read: `-f` works without a cluster, so a broken kubeconfig is not its
 * concern (the live path reports it).
 */
export async function contextNamespace(
  opts: { kubeconfig?: string; context?: string },
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  let current = opts.context;
  const namespaces = new Map<string, string | undefined>();
  for (const file of kubeconfigFiles(opts, env)) {
    let config: ContextsOnly;
    try {
      config = ((await readKubeconfig(readFileSync(file, 'utf8'))) ?? {}) as ContextsOnly;
    } catch {
      return undefined;
    }
    if (!current && typeof config['current-context'] === 'string' && config['current-context'] !== '') {
      current = config['current-context'];
    }
    for (const entry of Array.isArray(config.contexts) ? config.contexts : []) {
      if (typeof entry?.name !== 'string' || namespaces.has(entry.name)) continue;
      const namespace = entry.context?.namespace;
      namespaces.set(entry.name, typeof namespace === 'string' && namespace !== '' ? namespace : undefined);
    }
  }
  return current === undefined ? undefined : namespaces.get(current);
}

/**
 * A kubeconfig's value: plain block YAML (what kubectl writes) by yaml-block.ts; anything else by
 * js-yaml, loaded only then (a `-f` query starts without it).
 */
async function readKubeconfig(text: string): Promise<unknown> {
  const block = readBlockDocument(text, 0, text.length);
  if (block) return block.value;
  const { load } = await import('js-yaml');
  return load(text);
}
