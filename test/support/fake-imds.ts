// A fake instance metadata service (IMDSv2 only) for the spot interruption watcher: tokens by
// PUT /latest/api/token (TTL header required), metadata by GET with the token header; a missing,
// unknown or expired token gets 401. spot/instance-action is 404 until `notify()` is called.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class FakeImds {
  endpoint = '';
  private server: Server | undefined;
  private readonly tokens = new Map<string, number>(); // token → expiry (ms)
  private action: { action: string; time: string } | undefined;
  /** Every request, as `METHOD path`. */
  readonly requests: string[] = [];
  instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.requests.push(`${req.method} ${path}`);
      const send = (status: number, body = ''): void => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      };
      if (path === '/latest/api/token') {
        if (req.method !== 'PUT') return send(405);
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400, 'missing or invalid TTL header');
        const token = randomBytes(24).toString('base64');
        this.tokens.set(token, Date.now() + ttl * 1000);
        return send(200, token);
      }
      if (req.method !== 'GET') return send(405);
      const token = String(req.headers['x-aws-ec2-metadata-token'] ?? '');
      const exp = this.tokens.get(token);
      if (exp === undefined || exp < Date.now()) return send(401);
      if (path === '/latest/meta-data/spot/instance-action') {
        return this.action ? send(200, JSON.stringify(this.action)) : send(404, 'Not Found');
      }
      if (path === '/latest/meta-data/instance-id') return send(200, this.instanceId);
      return send(404, 'Not Found');
    });
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', res));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** From now on, spot/instance-action says the instance goes at `deadline`. */
  notify(deadline: Date, action: 'terminate' | 'stop' | 'hibernate' = 'terminate'): void {
    this.action = { action, time: deadline.toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  clearNotice(): void {
    this.action = undefined;
  }

  /** Every token handed out so far is refused from now on. */
  expireTokens(): void {
    for (const t of this.tokens.keys()) this.tokens.set(t, 0);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((res) => s.close(() => res()));
  }
}

export async function startFakeImds(): Promise<FakeImds> {
  return new FakeImds().listen();
}
