// A TCP proxy in front of an HTTP server (fauxqs) that drops connections mid-upload: it forwards
// every byte both ways, but for the first `times` requests matching a rule it forwards the
// request's head and part of its body, then destroys both sockets: a connection lost in the
// middle of a PUT, as the client sees it (ECONNRESET / EPIPE / socket hang up).
//
//   const proxy = await startDropProxy(fx.endpoint, [{ method: 'PUT', path: /\.hocr(\?|$)/, times: 1 }]);
//   ... workers get --endpoint proxy.endpoint ...
//   proxy.dropped  // the request lines cut short
//   await proxy.close();
//
// The client→server stream is parsed only as far as needed to find where each request ends
// (Content-Length or chunked bodies; keep-alive connections carry many requests); the bytes are
// passed on unchanged.

import { createServer, connect, type Server, type Socket } from 'node:net';

export interface DropRule {
  /** Default: any method. */
  method?: string;
  /** Matched against the request target (`/bucket/key?x-id=PutObject`). */
  path: RegExp;
  /** How many matching requests to cut short (over the proxy's life). */
  times: number;
  /** Share of the body forwarded before the cut, 0..1. Default 0.5. */
  fraction?: number;
}

export interface DropProxy {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** `METHOD target` of each request cut short. */
  readonly dropped: string[];
  /** Requests seen (all connections). */
  readonly requests: () => number;
  close(): Promise<void>;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
/** A request head larger than this is not HTTP we understand: pass the connection through. */
const MAX_HEAD = 64 * 1024;

type Body =
  | { kind: 'length'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'trailers' };

export async function startDropProxy(target: string, rules: DropRule[]): Promise<DropProxy> {
  const url = new URL(target);
  const left = rules.map((r) => r.times);
  const dropped: string[] = [];
  let requests = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(Number(url.port), url.hostname);
    sockets.add(client).add(upstream);
    const forget = (s: Socket) => () => sockets.delete(s);
    client.on('close', forget(client));
    upstream.on('close', forget(upstream));
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);

    let buf: Buffer = Buffer.alloc(0);
    let body: Body | null = null;
    let tunnel = false;
    /** Cut: whatever the client still sends goes nowhere. */
    let dead = false;
    /** Set while the current request is to be cut: body bytes still to forward before the cut. */
    let cutAfter: number | null = null;

    const forward = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    };
    const cut = (last: Buffer): void => {
      client.pause();
      upstream.write(last, () => setImmediate(kill));
    };

    /** Consumes `buf` as far as it can, forwarding what it consumed. */
    const pump = (): void => {
      for (;;) {
        if (tunnel) {
          forward(buf);
          buf = Buffer.alloc(0);
          return;
        }
        if (body === null) {
          const end = buf.indexOf(HEAD_END);
          if (end < 0) {
            if (buf.length > MAX_HEAD) tunnel = true;
            else return;
            continue;
          }
          const head = buf.subarray(0, end + HEAD_END.length);
          buf = buf.subarray(head.length);
          const lines = head.toString('latin1').split('\r\n');
          const [method = '', path = ''] = (lines[0] ?? '').split(' ');
          const header = (name: string): string | undefined =>
            lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
          requests += 1;
          const length = Number(header('content-length') ?? 0);
          const chunked = /chunked/i.test(header('transfer-encoding') ?? '');
          if (header('upgrade') !== undefined) tunnel = true;
          body = chunked ? { kind: 'chunk-size' } : { kind: 'length', left: length };
          const i = rules.findIndex((r, j) => left[j]! > 0 && (r.method === undefined || r.method === method) && r.path.test(path));
          if (i >= 0 && (chunked || length > 1)) {
            left[i]! -= 1;
            dropped.push(`${method} ${path}`);
            cutAfter = chunked ? 16 : Math.max(1, Math.floor(length * (rules[i]!.fraction ?? 0.5)));
          }
          forward(head);
          continue;
        }
        if (buf.length === 0) return;
        if (cutAfter !== null) {
          // Forward up to `cutAfter` body bytes, then drop the connection.
          const part = buf.subarray(0, cutAfter);
          cutAfter -= part.length;
          buf = Buffer.alloc(0);
          if (cutAfter <= 0) {
            dead = true;
            cutAfter = null;
            cut(part);
          } else forward(part);
          return;
        }
        switch (body.kind) {
          case 'length': {
            const n = Math.min(body.left, buf.length);
            forward(buf.subarray(0, n));
            buf = buf.subarray(n);
            body.left -= n;
            if (body.left === 0) body = null;
            continue;
          }
          case 'chunk-size': {
            const eol = buf.indexOf(CRLF);
            if (eol < 0) return;
            const size = parseInt(buf.subarray(0, eol).toString('latin1').split(';')[0]!.trim(), 16);
            forward(buf.subarray(0, eol + 2));
            buf = buf.subarray(eol + 2);
            if (!Number.isFinite(size)) tunnel = true;
            else body = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left: size + 2 };
            continue;
          }
          case 'chunk-data': {
            const n = Math.min(body.left, buf.length);
            forward(buf.subarray(0, n));
            buf = buf.subarray(n);
            body.left -= n;
            if (body.left === 0) body = { kind: 'chunk-size' };
            continue;
          }
          case 'trailers': {
            const eol = buf.indexOf(CRLF);
            if (eol < 0) return;
            forward(buf.subarray(0, eol + 2));
            buf = buf.subarray(eol + 2);
            if (eol === 0) body = null; // the empty line that ends the trailers
            continue;
          }
        }
      }
    };

    client.on('data', (d: Buffer) => {
      if (dead) return;
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      pump();
    });
  });

  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('drop proxy: no port');
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    dropped,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
