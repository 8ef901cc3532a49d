// The scaling decision (pure) and the watch loop against an in-memory Fleet.

import { describe, expect, it } from 'vitest';
import { ConfigError, TransientError } from '../../pipeline/errors.js';
import { SpotPriceTooLowError, type Fleet } from '../../pipeline/fleet.js';
import { MemoryFleet } from '../../pipeline/memory/fleet.js';
import { MemoryQueueAdmin } from '../../pipeline/memory/queue.js';
import { backlogOf, scaleDecision, watchFleet, type WatchRound } from '../../pipeline/scale.js';

const inst = (id: string, state: 'pending' | 'running' | 'shutting-down' | 'terminated') => ({ id, state });

describe('scaleDecision', () => {
  it('wants ceil(backlog / pagesPerWorker) workers, at most max', () => {
    expect(scaleDecision({ backlog: 0, instances: [], max: 5, pagesPerWorker: 10 })).toEqual({ backlog: 0, desired: 0, live: 0, start: 0 });
    expect(scaleDecision({ backlog: 1, instances: [], max: 5, pagesPerWorker: 10 }).start).toBe(1);
    expect(scaleDecision({ backlog: 10, instances: [], max: 5, pagesPerWorker: 10 }).start).toBe(1);
    expect(scaleDecision({ backlog: 11, instances: [], max: 5, pagesPerWorker: 10 }).start).toBe(2);
    expect(scaleDecision({ backlog: 1000, instances: [], max: 5, pagesPerWorker: 10 })).toMatchObject({ desired: 5, start: 5 });
    expect(scaleDecision({ backlog: 1000, instances: [], max: 0, pagesPerWorker: 10 }).start).toBe(0);
  });

  it('counts pending and running instances as workers, not dying ones', () => {
    const instances = [inst('a', 'pending'), inst('b', 'running'), inst('c', 'shutting-down'), inst('d', 'terminated')];
    expect(scaleDecision({ backlog: 40, instances, max: 10, pagesPerWorker: 10 })).toEqual({ backlog: 40, desired: 4, live: 2, start: 2 });
  });

  it('never starts beyond max, whatever is running', () => {
    const instances = [inst('a', 'running'), inst('b', 'running'), inst('c', 'running')];
    expect(scaleDecision({ backlog: 1000, instances, max: 2, pagesPerWorker: 1 }).start).toBe(0);
    expect(scaleDecision({ backlog: 1000, instances, max: 4, pagesPerWorker: 1 }).start).toBe(1);
  });

  it('never stops workers: a drained backlog starts none', () => {
    const instances = [inst('a', 'running'), inst('b', 'running')];
    expect(scaleDecision({ backlog: 0, instances, max: 4, pagesPerWorker: 1 })).toEqual({ backlog: 0, desired: 0, live: 2, start: 0 });
  });

  it('counts started workers the listing does not show yet, unless it shows them dead', () => {
    expect(scaleDecision({ backlog: 30, instances: [], recentlyStarted: ['x', 'y'], max: 5, pagesPerWorker: 10 }).start).toBe(1);
    expect(scaleDecision({ backlog: 30, instances: [inst('x', 'running')], recentlyStarted: ['x', 'y'], max: 5, pagesPerWorker: 10 }).start).toBe(1);
    expect(scaleDecision({ backlog: 30, instances: [inst('x', 'terminated')], recentlyStarted: ['x'], max: 5, pagesPerWorker: 10 }).start).toBe(3);
  });

  it('rejects nonsense settings', () => {
    expect(() => scaleDecision({ backlog: 1, instances: [], max: -1, pagesPerWorker: 1 })).toThrow(RangeError);
    expect(() => scaleDecision({ backlog: 1, instances: [], max: 1, pagesPerWorker: 0 })).toThrow(RangeError);
  });
});

describe('watchFleet with an in-memory fleet', () => {
  it('backlog rises → workers started up to the cap; drains → none started; never above max', async () => {
    const fleet = new MemoryFleet();
    const backlog = { n: 0 };
    const ac = new AbortController();
    const rounds: WatchRound[] = [];
    let onRound: (() => void) | undefined;
    const next = () => new Promise<void>((res) => (onRound = res));
    const done = watchFleet({
      fleet,
      backlog: async () => ({ total: backlog.n }),
      max: 4,
      pagesPerWorker: 10,
      intervalMs: 5,
      signal: ac.signal,
      onRound: (r) => {
        rounds.push(r);
        onRound?.();
      },
    });
    const live = async () => (await fleet.list()).length;

    await next();
    expect(rounds.at(-1)!.started).toEqual([]); // no backlog: nothing
    backlog.n = 15;
    await next();
    await next();
    expect(await live()).toBe(2); // ceil(15/10), started once, pending instances counted on the next round
    expect(fleet.startCalls).toEqual([2]);
    fleet.advance(); // pending → running: still the same workers
    backlog.n = 35;
    await next();
    await next();
    expect(await live()).toBe(4);
    backlog.n = 1000;
    for (let k = 0; k < 3; k++) await next();
    expect(await live()).toBe(4); // the cap
    expect(fleet.startCalls).toEqual([2, 2]);
    backlog.n = 0; // drained: nothing started, nothing stopped
    await next();
    await next();
    expect(await live()).toBe(4);
    // Workers stop themselves when idle; a new backlog brings new ones, still within the cap.
    for (const i of await fleet.list()) fleet.stopItself(i.id);
    backlog.n = 25;
    await next();
    await next();
    expect(await live()).toBe(3);
    expect(fleet.startCalls).toEqual([2, 2, 3]);
    expect(Math.max(...rounds.map((r) => r.decision.live + r.decision.start))).toBeLessThanOrEqual(4);
    ac.abort();
    await done;
  });

  it('a fleet that lists late (eventual consistency) is not asked twice', async () => {
    const inner = new MemoryFleet();
    let hide = true;
    const fleet: Fleet = {
      start: (n) => inner.start(n),
      list: async (o) => (hide ? [] : inner.list(o)),
      terminate: (ids) => inner.terminate(ids),
    };
    const ac = new AbortController();
    const rounds: WatchRound[] = [];
    let onRound: (() => void) | undefined;
    const next = () => new Promise<void>((res) => (onRound = res));
    const done = watchFleet({
      fleet,
      backlog: async () => ({ total: 30 }),
      max: 5,
      pagesPerWorker: 10,
      intervalMs: 5,
      signal: ac.signal,
      onRound: (r) => {
        rounds.push(r);
        onRound?.();
      },
    });
    await next();
    await next();
    await next();
    expect(inner.startCalls).toEqual([3]);
    hide = false;
    await next();
    expect(inner.startCalls).toEqual([3]);
    ac.abort();
    await done;
  });

  it('no capacity or a high spot price ends the round only; a settings error stops the watch', async () => {
    const fleet = new MemoryFleet({ capacity: 0 });
    const ac = new AbortController();
    const rounds: WatchRound[] = [];
    let n = 0;
    const failing: Fleet = {
      list: (o) => fleet.list(o),
      terminate: (ids) => fleet.terminate(ids),
      start: async (c) => {
        n += 1;
        if (n === 2) throw new SpotPriceTooLowError('spot price above fleet.maxPrice');
        if (n === 3) throw new TransientError('RequestLimitExceeded');
        if (n === 4) throw new ConfigError('UnauthorizedOperation');
        return fleet.start(c);
      },
    };
    const err = await watchFleet({
      fleet: failing,
      backlog: async () => ({ total: 5 }),
      max: 2,
      pagesPerWorker: 1,
      intervalMs: 1,
      signal: ac.signal,
      onRound: (r) => rounds.push(r),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(rounds.map((r) => r.error)).toEqual([
      expect.stringMatching(/FleetCapacityError/),
      expect.stringMatching(/SpotPriceTooLowError/),
      expect.stringMatching(/RequestLimitExceeded/),
    ]);
  });
});

describe('backlogOf', () => {
  it('adds visible and in-flight messages of the queues', async () => {
    const admin = new MemoryQueueAdmin({ pollMs: 5 });
    await admin.ensureQueue('sc-ocr', { visibilitySeconds: 30, maxReceiveCount: 5 });
    await admin.ensureQueue('sc-pre', { visibilitySeconds: 30, maxReceiveCount: 5 });
    const ocr = await admin.open('sc-ocr');
    const pre = await admin.open('sc-pre');
    for (let k = 0; k < 3; k++) await ocr.send(`p${k}`);
    await pre.send('book');
    await ocr.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    expect(await backlogOf([ocr, pre])).toEqual({ total: 4, byQueue: { 'sc-ocr': 3, 'sc-pre': 1 } });
  });
});

