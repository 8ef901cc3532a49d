// A worker's life on a spot instance (pipeline/instance.ts) around the real job runner: SQS and
// S3 on fauxqs, a fake metadata service that starts announcing an interruption, a power-off
// command the test can observe.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../pipeline/aws/s3.js';
import { SqsQueueAdmin } from '../../pipeline/aws/sqs.js';
import { runInstanceLife } from '../../pipeline/instance.js';
import { DirStore } from '../../pipeline/local/store.js';
import { listWorkerLogs, LogShipper, tailWorkerLog } from '../../pipeline/logship.js';
import type { Queue } from '../../pipeline/ports.js';
import { startWorker, type JobHandler, type RunningWorker } from '../../pipeline/runner.js';
import { startFakeImds, type FakeImds } from '../support/fake-imds.js';
import { uniqueBucketName, uniqueQueueName, useFauxqs } from '../support/fauxqs.js';

const fauxqs = useFauxqs();
let imds: FakeImds;
let admin: SqsQueueAdmin;
let store: S3Store;
beforeAll(async () => {
  imds = await startFakeImds();
  admin = new SqsQueueAdmin(fauxqs.aws());
  store = new S3Store({ ...fauxqs.aws(), bucket: uniqueBucketName('life') });
  await store.ensureBucket();
});
afterAll(async () => {
  admin?.destroy();
  store?.destroy();
  await imds?.close();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

function worker(queue: Queue, handler: JobHandler<'q', string>, log: pino.Logger, extra: { autostopSeconds?: number } = {}): RunningWorker {
  return startWorker<'q', string>({
    queues: [{ kind: 'q', queue, weight: 1 }],
    parse: (_k, body) => body,
    handlers: { q: handler },
    concurrency: 3,
    visibilitySeconds: 30,
    heartbeatSeconds: 10,
    waitSeconds: 1,
    idleCheckSeconds: 0.1,
    autostopSeconds: extra.autostopSeconds ?? 0,
    graceSeconds: 60,
    log,
  });
}

describe('spot interruption', () => {
  it('stops receiving, finishes what can finish, releases the rest at once, ships its log and ends before the deadline', async () => {
    const name = uniqueQueueName('life');
    await admin.ensureQueue(name, { visibilitySeconds: 30, maxReceiveCount: 5 });
    // When each ReceiveMessage is sent, to see that none is sent after the notice.
    const receives: number[] = [];
    const watched = new SqsQueueAdmin(fauxqs.aws({ intercept: ({ command }) => void (command === 'ReceiveMessageCommand' && receives.push(Date.now())) }));
    const queue = await watched.open(name);
    const ship = new LogShipper({ store, host: 'spot-worker', intervalMs: 0 });
    const log = pino({ level: 'info' }, ship);
    const done: string[] = [];
    const received: string[] = [];
    const w = worker(queue, async (body, ctx) => {
      received.push(body);
      if (body === 'slow') {
        // A job that cannot finish before the deadline.
        await new Promise((_res, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted'))));
      }
      await sleep(300, undefined, { signal: ctx.signal });
      done.push(body);
    }, log);
    const stops: string[] = [];
    let stoppedAt = 0;
    const supervised = {
      stop: (m?: 'graceful' | 'now') => {
        stops.push(m ?? 'graceful');
        stoppedAt ||= Date.now();
        w.stop(m);
      },
      get inFlight() {
        return w.inFlight;
      },
      finished: w.finished,
    };
    const life = runInstanceLife({
      worker: supervised,
      log,
      logs: ship,
      interruption: { endpoint: imds.endpoint, intervalMs: 50 },
      marginSeconds: 1.5,
      shutdown: [process.execPath, '-e', 'process.exit(9)'], // must not run: AWS takes the machine
    });
    await queue.send('quick');
    await queue.send('slow');
    await until(() => w.inFlight === 2);
    // IMDS gives whole seconds: the deadline is 3 to 4 s from now.
    const deadline = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000);
    imds.notify(deadline);
    const r = await life;
    const endedAt = Date.now();
    imds.clearNotice();

    expect(r.interrupted).toEqual({ action: 'terminate', deadline });
    expect(r.result.reason).toBe('stopped');
    expect(r.poweredOff).toBeUndefined();
    expect(stops).toEqual(['graceful', 'now']);
    expect(endedAt).toBeLessThan(deadline.getTime());
    expect(done).toEqual(['quick']);
    expect(received.sort()).toEqual(['quick', 'slow']);
    // No receive after the notice.
    expect(receives.length).toBeGreaterThan(0);
    expect(receives.filter((t) => t > stoppedAt)).toEqual([]);
    // The unfinished job is visible again at once.
    expect(await queue.counts()).toEqual({ available: 1, inFlight: 0 });
    const again = await queue.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 });
    expect(again.map((m) => m.body)).toEqual(['slow']);
    watched.destroy();
    // The log is in the bucket, interruption and release included.
    const logs = await listWorkerLogs(store);
    const mine = logs.find((l) => l.host === 'spot-worker')!;
    const lines = (await tailWorkerLog(store, mine.prefix, 1000)).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^spot interruption notice/), 'releasing unfinished jobs', 'stopped for the spot interruption']));
  });

  it('an idle worker stops at once on a notice and does not power off', async () => {
    const name = uniqueQueueName('life');
    await admin.ensureQueue(name, { visibilitySeconds: 30, maxReceiveCount: 5 });
    const queue = await admin.open(name);
    const dir = await mkdtemp(join(tmpdir(), 'bp-life-'));
    const marker = join(dir, 'off');
    const log = pino({ level: 'silent' });
    const w = worker(queue, async () => undefined, log, { autostopSeconds: 60 });
    const t0 = Date.now();
    const life = runInstanceLife({
      worker: { stop: (m) => w.stop(m), inFlight: 0, finished: w.finished },
      log,
      interruption: { endpoint: imds.endpoint, intervalMs: 50 },
      shutdown: [process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], "x")', marker],
    });
    imds.notify(new Date(Date.now() + 120_000));
    const r = await life;
    imds.clearNotice();
    expect(r.interrupted).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('autostop with --shutdown', () => {
  it('after the idle time: logs shipped, then the power-off command runs', async () => {
    const name = uniqueQueueName('idle');
    await admin.ensureQueue(name, { visibilitySeconds: 30, maxReceiveCount: 5 });
    const queue = await admin.open(name);
    const dir = await mkdtemp(join(tmpdir(), 'bp-life-'));
    const logStore = new DirStore(join(dir, 'store'));
    const ship = new LogShipper({ store: logStore, host: 'idle-worker', intervalMs: 0 });
    const log = pino({ level: 'info' }, ship);
    const marker = join(dir, 'powered-off');
    await queue.send('one job');
    const w = worker(queue, async () => undefined, log, { autostopSeconds: 1 });
    const r = await runInstanceLife({
      worker: { stop: (m) => w.stop(m), inFlight: 0, finished: w.finished },
      log,
      logs: ship,
      interruption: false,
      shutdown: [process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], "off")', marker],
    });
    expect(r.result.reason).toBe('autostop');
    expect(r.poweredOff).toMatchObject({ ok: true, code: 0 });
    expect(readFileSync(marker, 'utf8')).toBe('off');
    const [wl] = await listWorkerLogs(logStore);
    expect(wl!.parts).toBe(2); // shipped before the power-off, the rest after it
    const msgs = (await tailWorkerLog(logStore, wl!.prefix, 100)).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toEqual(expect.arrayContaining(['worker started', 'idle: shipping logs, then powering off (--shutdown)', 'powering off']));
  });

  it('without --shutdown an autostop just ends', async () => {
    const name = uniqueQueueName('idle');
    await admin.ensureQueue(name, { visibilitySeconds: 30, maxReceiveCount: 5 });
    const queue = await admin.open(name);
    const log = pino({ level: 'silent' });
    const w = worker(queue, async () => undefined, log, { autostopSeconds: 1 });
    const r = await runInstanceLife({ worker: { stop: (m) => w.stop(m), inFlight: 0, finished: w.finished }, log });
    expect(r.result.reason).toBe('autostop');
    expect(r.poweredOff).toBeUndefined();
  });
});
