/** A fluent builder of kubeconfig files for tests. */
import { writeFileSync } from 'node:fs';

import { stringify } from 'yaml';

interface NamedCluster {
  name: string;
  cluster: { server: string; 'insecure-skip-tls-verify'?: boolean };
}
interface NamedUser {
  name: string;
  user: { token?: string };
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string; namespace?: string };
}

/** Collects clusters, users and contexts; `write` saves the kubeconfig as YAML. */
class KubeconfigBuilder {
  private readonly clusters: NamedCluster[] = [];
  private readonly users: NamedUser[] = [];
  private readonly contexts: NamedContext[] = [];
  private currentContext?: string;

  /** Adds a cluster served at `server`. */
  withCluster(name: string, server: string): this {
    this.clusters.push({ name, cluster: { server } });
    return this;
  }

  /** Adds a user authenticating with a bearer token. */
  withTokenUser(name: string, token: string): this {
    this.users.push({ name, user: { token } });
    return this;
  }

  /** Adds a context; `namespace` is the context's default namespace. */
  withContext(name: string, cluster: string, user: string, namespace?: string): this {
    this.contexts.push({ name, context: { cluster, user, ...(namespace ? { namespace } : {}) } });
    return this;
  }

  /** Sets current-context. */
  withCurrentContext(name: string): this {
    this.currentContext = name;
    return this;
  }

  /** Writes the kubeconfig to `path` and returns the path. */
  write(path: string): string {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: this.clusters,
      users: this.users,
      contexts: this.contexts,
      ...(this.currentContext ? { 'current-context': this.currentContext } : {}),
    };
    writeFileSync(path, stringify(config));
    return path;
  }
}

/** Starts a kubeconfig. */
export function buildKubeconfig(): KubeconfigBuilder {
  return new KubeconfigBuilder();
}
