// Shipping a worker's log to the store in parts, on S3 (fauxqs) and the directory store, and
// reading it back as lspipeline does.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../pipeline/aws/s3.js';
import { DirStore } from '../../pipeline/local/store.js';
import { formatLogLine, listWorkerLogs, logPrefix, LogShipper, tailWorkerLog } from '../../pipeline/logship.js';
import { MemoryStore } from '../../pipeline/memory/store.js';
import type { PutOptions, Store } from '../../pipeline/ports.js';
import { listBooks } from '../../pipeline/status.js';
import { uniqueBucketName, useFauxqs } from '../support/fauxqs.js';

const fauxqs = useFauxqs();
let scratch: string;
const cleanups: Array<() => void> = [];
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bp-logship-'));
});
afterAll(async () => {
  cleanups.forEach((c) => c());
  await rm(scratch, { recursive: true, force: true });
});

/** Counts puts by key, to prove nothing is uploaded twice. */
function counting(store: Store): { store: Store; puts: Map<string, number> } {
  const puts = new Map<string, number>();
  const wrapped = Object.create(store) as Store;
  wrapped.put = (key: string, body: Parameters<Store['put']>[1], opts?: PutOptions) => {
    puts.set(key, (puts.get(key) ?? 0) + 1);
    return store.put(key, body, opts);
  };
  return { store: wrapped, puts };
}

const adapters: Array<{ name: string; make(): Promise<Store> }> = [
  {
    name: 's3 (fauxqs)',
    async make() {
      const s = new S3Store({ ...fauxqs.aws(), bucket: uniqueBucketName('logs') });
      cleanups.push(() => s.destroy());
      await s.ensureBucket();
      return s;
    },
  },
  {
    name: 'dir',
    async make() {
      const s = new DirStore(await mkdtemp(join(scratch, 'store-')));
      await s.ensureBucket();
      return s;
    },
  },
];

const start = new Date('2025-01-02T03:04:05.678Z');

describe.each(adapters)('LogShipper on $name', (a) => {
  it('appends parts logs/<start>-<host>/NNNNNN.jsonl, each line once, never the whole history again', async () => {
    const base = await a.make();
    const { store, puts } = counting(base);
    const ship = new LogShipper({ store, start, host: 'ip-10-0-0-1', intervalMs: 0 });
    expect(ship.prefix).toBe('logs/20250102T030405Z-ip-10-0-0-1/');
    ship.write('{"msg":"one"}\n');
    ship.write('{"msg":"tw');
    ship.write('o"}\n{"msg":"three"}\n');
    await ship.flush();
    await ship.flush(); // nothing new: no part
    ship.write('{"msg":"four"}\n');
    ship.write('{"msg":"five, no newline yet"}');
    await ship.flush();
    await ship.close(); // the unfinished line goes with the last part
    expect([...puts.keys()]).toEqual([
      'logs/20250102T030405Z-ip-10-0-0-1/000001.jsonl',
      'logs/20250102T030405Z-ip-10-0-0-1/000002.jsonl',
      'logs/20250102T030405Z-ip-10-0-0-1/000003.jsonl',
    ]);
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
    expect((await base.get('logs/20250102T030405Z-ip-10-0-0-1/000001.jsonl')).toString()).toBe('{"msg":"one"}\n{"msg":"two"}\n{"msg":"three"}\n');
    expect((await base.get('logs/20250102T030405Z-ip-10-0-0-1/000002.jsonl')).toString()).toBe('{"msg":"four"}\n');
    expect(ship.parts).toBe(3);

    const logs = await listWorkerLogs(base);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ prefix: ship.prefix, host: 'ip-10-0-0-1', start: new Date('2025-01-02T03:04:05Z'), parts: 3 });
    expect(logs[0]!.lastKey).toBe('logs/20250102T030405Z-ip-10-0-0-1/000003.jsonl');
    expect(await tailWorkerLog(base, ship.prefix, 2)).toEqual(['{"msg":"four"}', '{"msg":"five, no newline yet"}']);
    expect(await tailWorkerLog(base, ship.prefix, 100)).toHaveLength(5);
    // Worker logs are not books.
    expect((await listBooks(base)).inProgress).toEqual([]);
  });

  it('is a pino destination, and ships every minute (here: every 30 ms) on its own', async () => {
    const store = await a.make();
    const ship = new LogShipper({ store, start, host: 'w2', intervalMs: 30 });
    const log = pino({ base: { host: 'w2' } }, ship);
    log.info({ book: 'b1', page: 3 }, 'page done');
    log.warn('slow');
    await new Promise((r) => setTimeout(r, 120));
    expect(ship.parts).toBe(1);
    log.info('later');
    await ship.close();
    const lines = await tailWorkerLog(store, ship.prefix, 10);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['page done', 'slow', 'later']);
    expect(formatLogLine(lines[0]!)).toMatch(/^\d\d:\d\d:\d\dZ INFO page done host=w2 book=b1 page=3$/);
  });
});

describe('LogShipper when uploads fail', () => {
  it('keeps the lines and ships them with the next part; drops the oldest past the limit and says so', async () => {
    const mem = new MemoryStore();
    let fail = true;
    const errors: unknown[] = [];
    const store = {
      put: (key: string, body: string | Buffer, opts?: PutOptions) => (fail ? Promise.reject(new Error('S3 down')) : mem.put(key, body, opts)),
    };
    const ship = new LogShipper({ store, start, host: 'w3', intervalMs: 0, maxPendingBytes: 40, onError: (e) => errors.push(e) });
    ship.write('{"n":1}\n{"n":2}\n');
    await ship.flush();
    expect(errors).toHaveLength(1);
    expect(ship.parts).toBe(0);
    for (let k = 3; k <= 8; k++) ship.write(`{"n":${k}}\n`);
    fail = false;
    await ship.flush();
    const part = (await mem.get(`${ship.prefix}000001.jsonl`)).toString().trim().split('\n');
    expect(JSON.parse(part[0]!)).toMatchObject({ level: 40, msg: expect.stringMatching(/\d+ line\(s\) dropped/) });
    expect(part.slice(1).map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([4, 5, 6, 7, 8]);
    await ship.close();
  });

  it('names: host names made key-safe; parts sort in order past 9', () => {
    expect(logPrefix(start, 'my host/x')).toBe('logs/20250102T030405Z-my_host_x/');
  });
});
