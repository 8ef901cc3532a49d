// Bad input to rescribe: a clear one-line error naming the thing and what is wrong, the right exit
// code, and nothing else lost.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBest } from '../../analyse/files.js';
import { SAMPLES } from '../support/paths.js';
import { bombPng, corruptChunkPng, onePixelPng, textAsImage, truncated } from '../support/poison.js';
import { run } from '../support/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rescribe-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A few lines of text cut out of a sample page, 300 dpi kept: OCR takes a moment. */
const goodPage = () =>
  sharp(join(SAMPLES, 'book', 'page1.jpg')).extract({ left: 300, top: 420, width: 1400, height: 560 }).withMetadata({ density: 300 }).jpeg({ quality: 90 }).toBuffer();

describe('rescribe refuses bad arguments with exit 2', () => {
  it('a missing folder', async () => {
    const r = await run('rescribe', [join(tmp, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`rescribe: ${join(tmp, 'nope')}: no such folder`);
  });

  it('an empty folder, and one without images', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    let r = await run('rescribe', [empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${empty}: no page images (JPEG, PNG or TIFF) in this folder`);
    const notes = join(tmp, 'notes');
    mkdirSync(notes);
    writeFileSync(join(notes, 'readme.txt'), 'hello');
    r = await run('rescribe', [notes]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no page images');
  });

  it('an unknown training, listing what is available', async () => {
    const book = join(tmp, 'trainbook');
    mkdirSync(book);
    writeFileSync(join(book, 'p1.jpg'), await goodPage());
    const r = await run('rescribe', ['-t', 'klingon', book, join(tmp, 'trainbook-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rescribe: unknown training "klingon"; available: .*\beng\b/m);
    expect(existsSync(join(tmp, 'trainbook-out'))).toBe(false);
  });

  it('bad option values', async () => {
    const r = await run('rescribe', ['--thresholds', '0.1,2', 'examples/book']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--thresholds "0\.1,2"/);
  });
});

describe('rescribe with bad pages among good ones', () => {
  it('reports each bad page, lists it in failed.txt, exits 3, and finishes the rest', async () => {
    const book = join(tmp, 'mixed');
    mkdirSync(book);
    const good = await goodPage();
    writeFileSync(join(book, 'p01.jpg'), good);
    writeFileSync(join(book, 'p02.jpg'), Buffer.alloc(0));
    writeFileSync(join(book, 'p03.jpg'), truncated(good));
    writeFileSync(join(book, 'p04.png'), textAsImage());
    writeFileSync(join(book, 'p05.png'), bombPng(60000, 60000));
    writeFileSync(join(book, 'p06.png'), await corruptChunkPng());
    writeFileSync(join(book, 'p07.png'), await onePixelPng());
    writeFileSync(join(book, 'p10.jpg'), good);
    writeFileSync(join(book, '.hidden.jpg'), good);
    writeFileSync(join(book, 'notes.txt'), 'not a page');
    const out = join(tmp, 'mixed-out');
    const r = await run('rescribe', [book, out], {}, 300_000);
    expect(r.code, r.stderr).toBe(3);
    const failed = readFileSync(join(out, 'failed.txt'), 'utf8').trim().split('\n');
    expect(failed.map((l) => l.split('\t')[0])).toEqual(['p02.jpg', 'p03.jpg', 'p04.png', 'p05.png', 'p06.png']);
    const reasons = Object.fromEntries(failed.map((l) => l.split('\t') as [string, string]));
    expect(reasons['p02.jpg']).toMatch(/empty/i);
    expect(reasons['p03.jpg']).toMatch(/truncated|corrupt/i);
    expect(reasons['p04.png']).toMatch(/not an image/i);
    expect(reasons['p05.png']).toMatch(/60000x60000 pixels, over the limit/);
    expect(reasons['p06.png']).toMatch(/corrupt|truncated/i);
    for (const f of ['p02.jpg', 'p03.jpg', 'p04.png', 'p05.png', 'p06.png']) {
      expect(r.stderr).toContain(`error: ${join(book, f)}: `);
    }
    expect(r.stderr).toContain(`skipping ${join(book, '.hidden.jpg')}: hidden file`);
    expect(r.stderr).toContain(`skipping ${join(book, 'notes.txt')}: not a JPEG, PNG or TIFF image`);
    expect(r.stdout).toMatch(/5 page\(s\) failed/);
    // the good pages, and the 1-pixel page as a blank page, came out
    const best = parseBest(readFileSync(join(out, 'best'), 'utf8'));
    expect(best.map((b) => b.replace(/_\d{4}_bin.*$/, ''))).toEqual(['p01', 'p07', 'p10']);
    const text = readFileSync(join(out, 'mixed.txt'), 'utf8');
    expect(text.match(/surveyors arrived at Kestrel Bay/g)).toHaveLength(2);
    expect(r.stdout).toMatch(/Blank \(no text found\): p07_0007/);
  }, 300_000);
});
