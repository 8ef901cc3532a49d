// What only the directory adapters have to get right: several processes (here: several
// independent admin objects on one folder) and the file system's own rules.

import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidKeyError, LeaseLostError } from '../../pipeline/errors.js';
import { DirQueueAdmin } from '../../pipeline/local/queue.js';
import { DIRSTORE_TMP, DirStore } from '../../pipeline/local/store.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bp-local-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('DirQueue', () => {
  it('handles work across independent instances (as across processes)', async () => {
    const dir = join(root, 'q1');
    const a = new DirQueueAdmin({ root: dir });
    const b = new DirQueueAdmin({ root: dir });
    await a.ensureQueue('work', { visibilitySeconds: 30, maxReceiveCount: 5 });
    const qa = await a.open('work');
    const qb = await b.open('work');
    await qa.send('job');
    const [m] = await qb.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    if (!m) throw new Error('no message');
    await qb.extend(m.handle, 30); // renames the file: qa only knows the original handle
    await qa.extend(m.handle, 30); // ... and still finds it by id and token
    expect(await qa.counts()).toEqual({ available: 0, inFlight: 1 });
    await qa.delete(m.handle);
    expect(await qb.counts()).toEqual({ available: 0, inFlight: 0 });
  });

  it('a receipt lost to another instance after expiry is stale there', async () => {
    const dir = join(root, 'q2');
    const a = new DirQueueAdmin({ root: dir });
    const b = new DirQueueAdmin({ root: dir });
    await a.ensureQueue('work', { visibilitySeconds: 30, maxReceiveCount: 5 });
    const qa = await a.open('work');
    const qb = await b.open('work');
    await qa.send('job');
    const [ma] = await qa.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    if (!ma) throw new Error('no message');
    await qa.extend(ma.handle, 1);
    await sleep(1_100);
    const [mb] = await qb.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
    expect(mb?.receiveCount).toBe(2);
    await expect(qa.extend(ma.handle, 30)).rejects.toBeInstanceOf(LeaseLostError);
    await qa.delete(ma.handle);
    expect(await qb.counts()).toEqual({ available: 0, inFlight: 1 });
  });

  it('ignores stray files and unfinished writes in the queue folder', async () => {
    const dir = join(root, 'q3');
    const a = new DirQueueAdmin({ root: dir });
    await a.ensureQueue('work', { visibilitySeconds: 30, maxReceiveCount: 5 });
    await writeFile(join(dir, 'work', 'msgs', 'README'), 'not a message');
    await writeFile(join(dir, 'work', 'tmp', '123-abc'), '{"body":"half written');
    const q = await a.open('work');
    expect(await q.counts()).toEqual({ available: 0, inFlight: 0 });
    // A message file that is not JSON (written by hand, disk trouble) is moved aside.
    await writeFile(join(dir, 'work', 'msgs', '000000000-0~t~0~0~0~0'), 'garbage');
    await q.send('real');
    const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 30 });
    expect(got.map((m) => m.body)).toEqual(['real']);
    expect(await readdir(join(dir, 'work', 'corrupt'))).toHaveLength(1);
    await expect(q.extend('garbage', 30)).rejects.toBeInstanceOf(LeaseLostError);
    await q.delete('garbage');
    await q.release('garbage');
  });

  it('keeps one file per message, named by its state', async () => {
    const dir = join(root, 'q4');
    const a = new DirQueueAdmin({ root: dir });
    await a.ensureQueue('work', { visibilitySeconds: 30, maxReceiveCount: 5 });
    const q = await a.open('work');
    await q.send('one');
    const [name] = await readdir(join(dir, 'work', 'msgs'));
    expect(name).toMatch(/^[0-9a-z]+-[0-9a-f]+~[0-9a-f]+~0~0~0~0$/);
    expect(JSON.parse(await readFile(join(dir, 'work', 'msgs', name ?? ''), 'utf8'))).toEqual({ body: 'one' });
    expect(JSON.parse(await readFile(join(dir, 'work', 'queue.json'), 'utf8'))).toEqual({
      visibilitySeconds: 30,
      dlqName: 'work-dlq',
      maxReceiveCount: 5,
    });
  });
});

describe('DirStore', () => {
  it('maps keys to files under the root', async () => {
    const s = new DirStore(join(root, 's1'));
    await s.put('Book 1/page 0001.png', 'x');
    expect(await readFile(join(root, 's1', 'Book 1', 'page 0001.png'), 'utf8')).toBe('x');
  });

  it('reserves its temp folder and refuses object/folder conflicts', async () => {
    const s = new DirStore(join(root, 's2'));
    await expect(s.put(`${DIRSTORE_TMP}/x`, 'x')).rejects.toBeInstanceOf(InvalidKeyError);
    await s.put('a/b', 'x');
    await expect(s.put('a', 'x')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(s.put('a/b/c', 'x')).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await readdir(join(root, 's2', DIRSTORE_TMP))).toEqual([]); // no temp files left behind
  });

  it('removes folders left empty by delete, and never lists temp files', async () => {
    const base = join(root, 's3');
    const s = new DirStore(base);
    await s.put('book/sub/page.png', 'x');
    await s.put('keep', 'y');
    await mkdir(join(base, DIRSTORE_TMP), { recursive: true });
    await writeFile(join(base, DIRSTORE_TMP, 'leftover'), 'z');
    const listed: string[] = [];
    for await (const o of s.list('')) listed.push(o.key);
    expect(listed).toEqual(['book/sub/page.png', 'keep']);
    await s.delete(['book/sub/page.png']);
    await expect(stat(join(base, 'book'))).rejects.toThrow();
    expect((await stat(base)).isDirectory()).toBe(true);
  });

  it('survives puts racing deletes in the same folder', async () => {
    const s = new DirStore(join(root, 's4'));
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        await s.put(`race/${i % 2}/k${i}`, 'x');
        await s.delete([`race/${i % 2}/k${i}`]);
      }),
    );
    await Promise.all(Array.from({ length: 50 }, (_, i) => Promise.all([s.put(`race/p${i}`, 'x'), s.delete([`race/q${i}`])])));
    let n = 0;
    for await (const o of s.list('race/')) if (o.key.startsWith('race/p')) n++;
    expect(n).toBe(50);
  });
});
