/** A loopback HTTP server that answers like kube-apiserver from recorded JSON, and records every request. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  body?: unknown;
}

/** An answer: HTTP status, a JSON body and headers of its own (e.g. `warning`); `hang` never answers. */
export type Reply = { status: number; body: unknown; headers?: Record<string, string | string[]> } | 'hang';

/** Answers `METHOD /path` (no query); the request is passed for routes that depend on it. */
export type Routes = Record<string, Reply | ((req: RecordedRequest) => Reply)>;

/** A running fake API server. */
export interface FakeApiServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const FIXTURES = 'test/fixtures/cluster/live';

/** Reads a recorded response from test/fixtures/cluster/live. */
export function readRecorded(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));
}

/** A 200 reply with a recorded body. */
export function ok(name: string): Reply {
  return { status: 200, body: readRecorded(name) };
}

/** The same reply with response headers of its own (e.g. `warning`). */
export function withHeaders(reply: Reply, headers: Record<string, string | string[]>): Reply {
  return reply === 'hang' ? reply : { ...reply, headers: { ...reply.headers, ...headers } };
}

/** An error reply with a recorded metav1.Status body (its `code` is the HTTP status). */
export function failure(name: string): Reply {
  const body = readRecorded(name) as { code: number };
  return { status: body.code, body };
}

/** Starts the server on 127.0.0.1, on a free port. Unknown routes get a 404 Status. */
export async function startFakeApiServer(routes: Routes): Promise<FakeApiServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        body: raw ? JSON.parse(raw) : undefined,
      };
      requests.push(recorded);
      const route = routes[`${recorded.method} ${recorded.path}`];
      const reply = typeof route === 'function' ? route(recorded) : (route ?? notFound(recorded.path));
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => closeServer(server),
  };
}

/** A URL on which nothing listens (a port just released). */
export async function findClosedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

function notFound(path: string): Reply {
  return {
    status: 404,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: `the server could not find the requested resource (${path})`,
      reason: 'NotFound',
      code: 404,
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
