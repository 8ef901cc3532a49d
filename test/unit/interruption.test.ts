// The spot interruption watcher against a fake instance metadata service (IMDSv2) over HTTP.

import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInstanceAction, watchInterruption, type InterruptionNotice } from '../../pipeline/interruption.js';
import { startFakeImds, type FakeImds } from '../support/fake-imds.js';

let imds: FakeImds;
beforeAll(async () => {
  imds = await startFakeImds();
});
afterAll(async () => {
  await imds.close();
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

describe('parseInstanceAction', () => {
  it('reads the action and the time', () => {
    expect(parseInstanceAction('{"action": "terminate", "time": "2017-09-18T08:22:00Z"}')).toEqual({
      action: 'terminate',
      deadline: new Date('2017-09-18T08:22:00Z'),
    });
    expect(() => parseInstanceAction('{"action": "explode", "time": "2017-09-18T08:22:00Z"}')).toThrow(/unknown action/);
    expect(() => parseInstanceAction('{"action": "stop", "time": "soon"}')).toThrow(/bad time/);
  });
});

describe('watchInterruption (IMDSv2)', () => {
  it('polls with a token, sees no notice (404), then reports the notice with its deadline once', async () => {
    const seen: InterruptionNotice[] = [];
    const errors: Error[] = [];
    const from = imds.requests.length;
    const w = watchInterruption({ endpoint: imds.endpoint, intervalMs: 20, onNotice: (n) => seen.push(n), onError: (e) => errors.push(e) });
    await until(() => imds.requests.slice(from).filter((r) => r.endsWith('instance-action')).length >= 3);
    expect(seen).toEqual([]);
    expect(w.signal.aborted).toBe(false);
    // One token for all the polls.
    expect(imds.requests.slice(from).filter((r) => r.startsWith('PUT')).length).toBe(1);
    const deadline = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120_000);
    imds.notify(deadline);
    const n = await w.noticed;
    expect(n).toEqual({ action: 'terminate', deadline });
    expect(w.signal.aborted).toBe(true);
    expect(w.signal.reason).toEqual(n);
    expect(w.notice).toEqual(n);
    const polls = imds.requests.length;
    await sleep(80);
    expect(seen).toHaveLength(1);
    expect(imds.requests.length).toBe(polls); // stopped polling
    expect(errors).toEqual([]);
    w.stop();
    imds.clearNotice();
  });

  it('asks for a new token when the old one is refused', async () => {
    const fresh = await startFakeImds();
    try {
      const errors: Error[] = [];
      const w = watchInterruption({ endpoint: fresh.endpoint, intervalMs: 20, onError: (e) => errors.push(e) });
      await until(() => fresh.requests.filter((r) => r.endsWith('instance-action')).length >= 2);
      fresh.expireTokens();
      await until(() => fresh.requests.filter((r) => r.startsWith('PUT')).length >= 2);
      fresh.notify(new Date(Date.now() + 60_000));
      await w.noticed;
      expect(errors).toEqual([]);
      const puts = fresh.requests.filter((r) => r.startsWith('PUT'));
      expect(puts.length).toBe(2);
      w.stop();
    } finally {
      await fresh.close();
    }
  });

  it('no metadata service (not on EC2): reported once, polling goes on quietly, stop() ends it', async () => {
    // A port with nothing listening.
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const errors: Error[] = [];
    const w = watchInterruption({ endpoint: `http://127.0.0.1:${port}`, intervalMs: 10, requestTimeoutMs: 200, onError: (e) => errors.push(e) });
    await sleep(150);
    expect(errors).toHaveLength(1);
    expect(w.signal.aborted).toBe(false);
    w.stop();
  });

  it('an outside signal stops it', async () => {
    const ac = new AbortController();
    const from = imds.requests.length;
    watchInterruption({ endpoint: imds.endpoint, intervalMs: 10, signal: ac.signal });
    await until(() => imds.requests.length > from);
    ac.abort();
    await sleep(30);
    const n = imds.requests.length;
    await sleep(60);
    expect(imds.requests.length).toBe(n);
  });
});
