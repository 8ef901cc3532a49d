// One contract for the Store port, run against every adapter:
// S3 on fauxqs, the directory store in a temp dir, the in-memory store.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../pipeline/aws/s3.js';
import { InvalidKeyError, NotFoundError } from '../../pipeline/errors.js';
import { DirStore } from '../../pipeline/local/store.js';
import { MemoryStore } from '../../pipeline/memory/store.js';
import type { Store } from '../../pipeline/ports.js';
import { uniqueBucketName, useFauxqs } from '../support/fauxqs.js';

const fauxqs = useFauxqs();
let scratch: string;
const BIG = 20 * 1024 * 1024;
let bigFile: string;
let bigSha: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bp-store-'));
  bigFile = join(scratch, 'big.bin');
  const data = randomBytes(BIG);
  bigSha = createHash('sha256').update(data).digest('hex');
  await writeFile(bigFile, data);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await rm(scratch, { recursive: true, force: true });
});
const cleanups: Array<() => Promise<void> | void> = [];

interface Adapter {
  name: string;
  make(): Promise<Store>;
  /**
   * fauxqs 1.9.2 lists keys in `localeCompare` order; real S3 (and our other adapters) list in
   * UTF-8 byte order. For that adapter the order of listings is checked only after sorting.
   */
  listsInLocaleOrder?: boolean;
}

const adapters: Adapter[] = [
  {
    name: 's3 (fauxqs)',
    listsInLocaleOrder: true,
    async make() {
      const store = new S3Store({ ...fauxqs.aws(), bucket: uniqueBucketName() });
      cleanups.push(() => store.destroy());
      expect(await store.ensureBucket()).toBe('created');
      return store;
    },
  },
  {
    name: 'dir',
    async make() {
      const store = new DirStore(join(scratch, `dir-${randomBytes(4).toString('hex')}`));
      expect(await store.ensureBucket()).toBe('created');
      return store;
    },
  },
  {
    name: 'memory',
    async make() {
      const store = new MemoryStore();
      expect(await store.ensureBucket()).toBe('created');
      return store;
    },
  },
];

async function listKeys(store: Store, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe.each(adapters)('Store contract: $name', (adapter) => {
  async function keys(store: Store, prefix: string): Promise<string[]> {
    const out = await listKeys(store, prefix);
    return adapter.listsInLocaleOrder ? out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) : out;
  }

  it('ensureBucket is idempotent', async () => {
    const store = await adapter.make();
    expect(await store.ensureBucket()).toBe('existed');
  });

  it('put / get / head / delete; overwrite; missing keys', async () => {
    const store = await adapter.make();
    const t0 = Date.now();
    await store.put('book/conf', 'page_0001_bin0.2.hocr\t87\n');
    await store.put('book/page_0001.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]));
    await store.put('book/streamed.txt', Readable.from([Buffer.from('a'), Buffer.from('bc')]));
    expect((await store.get('book/conf')).toString('utf8')).toBe('page_0001_bin0.2.hocr\t87\n');
    expect([...(await store.get('book/page_0001.png'))]).toEqual([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    expect((await store.get('book/streamed.txt')).toString()).toBe('abc');
    const h = await store.head('book/page_0001.png');
    expect(h?.size).toBe(8);
    expect(h?.modified).toBeInstanceOf(Date);
    expect(Math.abs((h?.modified.getTime() ?? 0) - t0)).toBeLessThan(10_000);
    await store.put('book/conf', 'replaced');
    expect((await store.get('book/conf')).toString()).toBe('replaced');

    expect(await store.head('book/missing')).toBeNull();
    expect(await store.head('book')).toBeNull(); // a "folder" is not an object
    await expect(store.get('book/missing')).rejects.toBeInstanceOf(NotFoundError);
    const dest = join(scratch, `missing-${randomBytes(4).toString('hex')}`);
    await expect(store.getToFile('book/missing', dest)).rejects.toBeInstanceOf(NotFoundError);
    await expect(stat(dest)).rejects.toThrow(); // no partial file left behind

    await store.delete(['book/conf', 'book/missing', 'book/streamed.txt']);
    expect(await store.head('book/conf')).toBeNull();
    expect(await keys(store, 'book/')).toEqual(['book/page_0001.png']);
    await store.delete([]);
  });

  it('keys with spaces and non-ASCII round-trip and list exactly', async () => {
    const store = await adapter.make();
    const ks = ['Böök 1/pàge 0001 ünïcode.png', 'Böök 1/書 页 0002.hocr', 'Böök 1/emoji 😀.txt', 'plain/a+b=c&d#e%20.txt'];
    for (const k of ks) await store.put(k, `body of ${k}`);
    for (const k of ks) expect((await store.get(k)).toString()).toBe(`body of ${k}`);
    expect(await keys(store, 'Böök 1/')).toEqual(ks.slice(0, 3).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(await keys(store, 'plain/a+b')).toEqual(['plain/a+b=c&d#e%20.txt']);
  });

  it('rejects unsafe keys with InvalidKeyError', async () => {
    const store = await adapter.make();
    for (const bad of ['', '../escape', 'a/../../etc/passwd', '/absolute', 'a//b', 'trailing/', 'nul\u0000byte', 'back\\slash', './dot', 'x'.repeat(1025)]) {
      await expect(store.put(bad, 'x'), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get(bad), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidKeyError);
    }
    expect(await keys(store, '../')).toEqual([]);
  });

  it('list honours the prefix exactly (Book1/ is not Book10/) and sorts by UTF-8 bytes', async () => {
    const store = await adapter.make();
    const all = ['Book1/a.png', 'Book1/b/c.png', 'Book1/b-c.png', 'Book10/a.png', 'Book1x', 'Book2/z', 'zz', 'Book1/\uff5e.png', 'Book1/😀.png'];
    await Promise.all(all.map((k) => store.put(k, k)));
    // `b-c.png` < `b/c.png` (0x2d < 0x2f) and U+FF5E < U+1F600 in UTF-8 (not in UTF-16).
    expect(await keys(store, 'Book1/')).toEqual(['Book1/a.png', 'Book1/b-c.png', 'Book1/b/c.png', 'Book1/\uff5e.png', 'Book1/😀.png']);
    expect(await keys(store, 'Book1')).toEqual([
      'Book1/a.png',
      'Book1/b-c.png',
      'Book1/b/c.png',
      'Book1/\uff5e.png',
      'Book1/😀.png',
      'Book10/a.png',
      'Book1x',
    ]);
    expect(await keys(store, 'Book1/b')).toEqual(['Book1/b-c.png', 'Book1/b/c.png']);
    expect(await keys(store, 'Book1/b/')).toEqual(['Book1/b/c.png']);
    expect(await keys(store, 'Book3/')).toEqual([]);
    expect(await keys(store, '')).toEqual([...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const first = (await (async () => {
      for await (const o of store.list('Book2/')) return o;
      return undefined;
    })());
    expect(first).toMatchObject({ key: 'Book2/z', size: 7 });
  });

  it('lists past 1,000 keys (pagination) and deletes them all', async () => {
    const store = await adapter.make();
    const n = 1_100;
    const ks = Array.from({ length: n }, (_, i) => `many/page_${String(i).padStart(4, '0')}.hocr`);
    for (let i = 0; i < n; i += 100) await Promise.all(ks.slice(i, i + 100).map((k) => store.put(k, 'x')));
    await store.put('many0/other', 'y');
    const listed = await keys(store, 'many/');
    expect(listed.length).toBe(n);
    expect(listed).toEqual(ks);
    await store.delete(ks);
    expect(await keys(store, 'many/')).toEqual([]);
    expect(await keys(store, '')).toEqual(['many0/other']);
  });

  it('round-trips a 20 MB file byte for byte (putFile / getToFile, stream put / get)', async () => {
    const store = await adapter.make();
    await store.putFile('big/file.bin', bigFile);
    expect((await store.head('big/file.bin'))?.size).toBe(BIG);
    const back = join(scratch, `back-${randomBytes(4).toString('hex')}.bin`);
    await store.getToFile('big/file.bin', back);
    expect(sha(await readFile(back))).toBe(bigSha);
    await rm(back);
    expect((await readdir(scratch)).filter((f) => f.endsWith('.part'))).toEqual([]);

    await store.put('big/stream.bin', createReadStream(bigFile), { contentType: 'application/octet-stream' });
    const got = await store.get('big/stream.bin');
    expect(got.length).toBe(BIG);
    expect(sha(got)).toBe(bigSha);
  });
});
