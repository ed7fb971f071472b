/**
 * The bounds that keep the live path from hanging: a connect and a TLS handshake each have one of
 * their own whatever --request-timeout says (client-go's dialer gives up after 30 s and its transport
 * after 10 s of TLS handshake), and --request-timeout, when set, is a budget for the whole command:
 * the time it spends waiting for the API server, all requests, retries and backoff together.
 */
import type { Agent, ClientRequestArgs } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';

/** How long a connect and a TLS handshake may take, in milliseconds; 0 is no bound. */
export interface ConnectTimeouts {
  dialMs: number;
  tlsHandshakeMs: number;
}

/** kubectl's bounds (client-go's net.Dialer Timeout and http.Transport TLSHandshakeTimeout). */
export const DEFAULT_CONNECT_TIMEOUTS: ConnectTimeouts = { dialMs: 30_000, tlsHandshakeMs: 10_000 };

/** The code of the error a request fails with when its connect took longer than dialMs. */
export const DIAL_TIMEOUT_CODE = 'ERR_NETPOL_DIAL_TIMEOUT';
/** The code of the error a request fails with when the server did not finish the TLS handshake in time. */
export const TLS_HANDSHAKE_TIMEOUT_CODE = 'ERR_NETPOL_TLS_HANDSHAKE_TIMEOUT';

type ConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * Bounds the connect and the TLS handshake of every socket `agent` opens. A socket not connected
 * within dialMs, or whose server has not finished the handshake tlsHandshakeMs after the connect, is
 * destroyed with an error whose code says which (DIAL_TIMEOUT_CODE, TLS_HANDSHAKE_TIMEOUT_CODE), and
 * its request fails with it. Once the socket is connected (and secured), no timer is left on it: the
 * answer is waited for as --request-timeout says. Agents that hand over their socket later through
 * the callback (proxy agents) have the time until then counted as the connect.
 */
export function guardConnects(agent: Agent, timeouts: ConnectTimeouts): void {
  if (timeouts.dialMs <= 0 && timeouts.tlsHandshakeMs <= 0) return;
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (options: ClientRequestArgs, callback?: ConnectionCallback) => {
    let isSettled = false;
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    const arm = (ms: number, onExpiry: () => void) => {
      stop();
      if (ms <= 0) return;
      timer = setTimeout(onExpiry, ms);
      // Never what keeps the process alive; and cleared as soon as the phase ends.
      timer.unref();
    };
    const timedOut = (code: string, ms: number, phase: string): Error =>
      Object.assign(new Error(`${phase} did not complete within ${ms} ms`), { code });
    const watch = (socket: Duplex) => {
      const net = socket as Socket;
      net.once('close', stop);
      const handshake = () => {
        if (!(net instanceof TLSSocket) || isSecured(net)) return stop();
        net.once('secureConnect', stop);
        arm(timeouts.tlsHandshakeMs, () =>
          net.destroy(timedOut(TLS_HANDSHAKE_TIMEOUT_CODE, timeouts.tlsHandshakeMs, 'TLS handshake')),
        );
      };
      if (!net.connecting) return handshake();
      net.once('connect', handshake);
      arm(timeouts.dialMs, () => net.destroy(timedOut(DIAL_TIMEOUT_CODE, timeouts.dialMs, 'connect')));
    };
    // A socket handed over through the callback (proxy agents): until then, the connect is not done.
    const handOver: ConnectionCallback | undefined = callback
      ? (err, stream) => {
          if (isSettled) {
            stream?.destroy();
            return;
          }
          isSettled = true;
          if (stream) watch(stream);
          else stop();
          callback(err, stream);
        }
      : undefined;
    arm(timeouts.dialMs, () => {
      if (isSettled) return;
      isSettled = true;
      callback?.(timedOut(DIAL_TIMEOUT_CODE, timeouts.dialMs, 'connect'), undefined as unknown as Duplex);
    });
    let socket: Duplex | null | undefined;
    try {
      socket = create(options, handOver);
    } catch (err) {
      isSettled = true;
      stop();
      throw err;
    }
    if (socket) {
      // Returned at once (net and tls sockets): a later call of the callback is the connect listener.
      isSettled = true;
      watch(socket);
    }
    return socket;
  };
}

/** Whether a TLS socket has finished its handshake: it has sent its Finished message. */
function isSecured(socket: TLSSocket): boolean {
  return socket.getFinished() !== undefined;
}

/**
 * --request-timeout as a budget for the command: the time spent waiting for the API server, counted
 * while at least one request (with its retries and backoff) is under way, so that time spent on a
 * prompt is not counted. A request gets what is left of it. Once it has run out, each request that
 * still follows gets the whole timeout again: only the read-back and rollback after a write that it
 * cut short do (lists stop, see Connection.listAll), so that a half-made change is still undone.
 */
export class WaitBudget {
  private spentMs = 0;
  private active = 0;
  private since = 0;
  private isRunOut = false;

  /** `limitMs` 0: no limit. */
  constructor(readonly limitMs: number) {}

  /** Counts from now until the returned function is called (calls may overlap). */
  begin(): () => void {
    if (this.active++ === 0) this.since = Date.now();
    let isEnded = false;
    return () => {
      if (isEnded) return;
      isEnded = true;
      if (--this.active === 0) this.spentMs += Date.now() - this.since;
    };
  }

  /** Milliseconds left (Infinity without a limit). */
  remaining(): number {
    if (this.limitMs <= 0) return Infinity;
    const running = this.active > 0 ? Date.now() - this.since : 0;
    return this.limitMs - this.spentMs - running;
  }

  /** Whether it has run out: a request was cut short by it, or nothing is left. */
  isSpent(): boolean {
    return this.isRunOut || this.remaining() <= 0;
  }

  /** Says that a request was cut short by the budget. */
  markSpent(): void {
    if (this.limitMs > 0) this.isRunOut = true;
  }

  /** The bound of a request that starts now: what is left, or the whole limit once it has run out; undefined without a limit. */
  requestBoundMs(): number | undefined {
    if (this.limitMs <= 0) return undefined;
    return this.isSpent() ? this.limitMs : Math.max(1, Math.ceil(this.remaining()));
  }
}
