/**
 * Endpoints that make the live path wait, for tests of its bounds: a port whose connect never
 * completes, and a self-signed certificate for an HTTPS server of a test's own (openssl makes it).
 * Tests that use them say so with requirePrograms('python3') or requirePrograms('openssl').
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A port and how to give it back. */
interface Endpoint {
  /** `https://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

/**
 * A loopback port where a connect waits as on an address whose packets are dropped: python3 holds a
 * listener with a backlog of 0 that never accepts, and connections of its own fill its queue, so the kernel
 * drops every later SYN (Linux does, whatever syncookies say) and the connect is never answered.
 */
export async function startUnansweredPort(): Promise<Endpoint> {
  const script = [
    'import socket, sys, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'port = s.getsockname()[1]',
    'held = [socket.socket() for _ in range(2)]',
    'for c in held: c.setblocking(False); c.connect_ex(("127.0.0.1", port))',
    'time.sleep(0.2)',
    'print(port, flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`python3 exited ${code} before it listened`)));
  });
  lines.close();
  return {
    url: `https://127.0.0.1:${port.trim()}`,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        // Closing its stdin ends the script, and with it the listener and the held connections.
        child.stdin.end();
      }),
  };
}

/** A self-signed certificate for 127.0.0.1, written to `dir` by openssl. */
export function selfSignedCertificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
  const made = spawnSync('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
    ...[...subject, '-keyout', key, '-out', cert],
  ]);
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString().trim()}`);
  return { key: readFileSync(key), cert: readFileSync(cert) };
}
