/**
 * A fault-injecting proxy in front of an API server, for tests of the live path.
 *
 * - `http` mode speaks HTTP to the client (plain, like `kubectl proxy`) and forwards each request to
 *   the upstream (http, or https with a CA and client certificate), so faults can be chosen per
 *   request: a status of its own (500, 429 with Retry-After), a reset, a delay, a truncated body.
 * - `tcp` mode forwards bytes, so it works in front of a TLS server it cannot read; faults are chosen
 *   per connection: a reset, a delay before forwarding, a response cut after N bytes, a hang.
 *
 * Rules apply in order; each may skip its first `after` matches (fail the Nth) and stop after `times`.
 */
import { connect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What goes wrong. */
export type Fault =
  /** http mode: answer with this status (and headers, and a metav1.Status body) instead of forwarding. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Close the client's connection with a TCP reset, before any answer. */
  | { kind: 'reset' }
  /** Wait this long, then forward as usual. */
  | { kind: 'delay'; ms: number }
  /** Forward, but cut the answer after `bytes` bytes of body (http) or of the stream (tcp), then reset. */
  | { kind: 'truncate'; bytes: number }
  /** Never answer. */
  | { kind: 'hang' };

/** One request as the http-mode proxy saw it. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

/** A fault and which requests (http) or connections (tcp) it applies to. */
export interface FaultRule {
  /** http mode: which requests; tcp mode: ignored (every connection matches). */
  match?: (req: ProxiedRequest) => boolean;
  fault: Fault;
  /** Let the first `after` matches through untouched (fail the Nth: after = N - 1). */
  after?: number;
  /** Apply to this many matches, then stop (default: all). */
  times?: number;
}

interface FaultProxyOptions {
  mode: 'http' | 'tcp';
  /** http mode: the upstream URL; tcp mode: host:port taken from it. */
  upstream: string;
  /** http mode with an https upstream: how to trust it and who to be. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  rules?: FaultRule[];
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` (http mode) or the upstream's scheme on the proxy's port (tcp mode). */
  url: string;
  port: number;
  /** http mode: every request seen. */
  requests: ProxiedRequest[];
  /** tcp mode: connections accepted. */
  connections: number;
  /** Replaces the rules (counters start again). */
  setRules(rules: FaultRule[]): void;
  close(): Promise<void>;
}

interface LiveRule extends FaultRule {
  seen: number;
  applied: number;
}

function pick(rules: LiveRule[], req: ProxiedRequest | undefined): Fault | undefined {
  for (const rule of rules) {
    if (req && rule.match && !rule.match(req)) continue;
    rule.seen++;
    if (rule.seen <= (rule.after ?? 0)) continue;
    if (rule.times !== undefined && rule.applied >= rule.times) continue;
    rule.applied++;
    return rule.fault;
  }
  return undefined;
}

const live = (rules: FaultRule[] = []): LiveRule[] => rules.map((r) => ({ ...r, seen: 0, applied: 0 }));

/** Starts the proxy on 127.0.0.1, on a free port. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let rules = live(options.rules);
  const upstream = new URL(options.upstream);
  const sockets = new Set<Socket>();
  const requests: ProxiedRequest[] = [];
  let connections = 0;
  let server: Server | TcpServer;

  if (options.mode === 'http') {
    server = createServer((req, res) => void handleHttp(req, res));
  } else {
    server = createTcpServer((client) => handleTcp(client));
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const seen: ProxiedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
    requests.push(seen);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const fault = pick(rules, seen);
    seen.fault = fault?.kind;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms).unref());
    if (fault?.kind === 'status') {
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: fault.message ?? `injected HTTP ${fault.status}`,
        reason: fault.status === 429 ? 'TooManyRequests' : 'InternalError',
        code: fault.status,
      });
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(body);
      return;
    }
    const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = { ...req.headers, host: upstream.host };
    const out = send(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        ...options.tls,
      },
      (answer) => {
        if (fault?.kind === 'truncate') {
          // Keep the headers (content-length included), send part of the body, then reset.
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (sent >= fault.bytes) return;
            const part = chunk.subarray(0, fault.bytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= fault.bytes) setTimeout(() => req.socket.resetAndDestroy(), 20);
          });
          answer.on('end', () => setTimeout(() => req.socket.destroy(), 20));
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    out.end(Buffer.concat(chunks));
  }

  function handleTcp(client: Socket): void {
    connections++;
    const fault = pick(rules, undefined);
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const start = () => {
      const server = connect(Number(upstream.port), upstream.hostname);
      sockets.add(server);
      server.on('close', () => sockets.delete(server));
      server.on('error', () => client.destroy());
      client.on('error', () => server.destroy());
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
      client.pipe(server);
      if (fault?.kind === 'truncate') {
        let sent = 0;
        server.on('data', (chunk: Buffer) => {
          if (sent >= fault.bytes) return;
          const part = chunk.subarray(0, fault.bytes - sent);
          sent += part.length;
          client.write(part);
          if (sent >= fault.bytes) setTimeout(() => client.resetAndDestroy(), 20);
        });
      } else server.pipe(client);
    };
    if (fault?.kind === 'delay') {
      client.pause();
      setTimeout(() => {
        client.resume();
        start();
      }, fault.ms).unref();
    } else start();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const scheme = options.mode === 'http' ? 'http:' : upstream.protocol;
  return {
    url: `${scheme}//127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return connections;
    },
    setRules(next) {
      rules = live(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
