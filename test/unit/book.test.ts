import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BookError, bookNameFromDir, bookNameProblem, keys, kLabel, listBookImages, pageName, parseVariantName } from '../../pipeline/book.js';

describe('book folders', () => {
  it('lists page images in natural order and says what it skipped', async () => {
    const d = mkdtempSync(join(tmpdir(), 'book-'));
    for (const f of ['page10.jpg', 'page2.JPEG', 'page1.png', 'scan 3.tif', '.DS_Store', '.hidden.jpg', 'notes.txt']) writeFileSync(join(d, f), 'x');
    mkdirSync(join(d, 'sub'));
    const l = await listBookImages(d);
    expect(l.pages.map((p) => p.file)).toEqual(['page1.png', 'page2.JPEG', 'page10.jpg', 'scan 3.tif']);
    expect(l.pages.map((p) => p.name)).toEqual(['page1_0001', 'page2_0002', 'page10_0003', 'scan_3_0004']);
    expect(l.pages.map((p) => p.ext)).toEqual(['.png', '.jpg', '.jpg', '.tif']);
    expect(l.skipped).toEqual([
      { file: '.DS_Store', reason: 'hidden file' },
      { file: '.hidden.jpg', reason: 'hidden file' },
      { file: 'notes.txt', reason: 'not a JPEG, PNG or TIFF image' },
      { file: 'sub', reason: 'folder' },
    ]);
  });

  it('refuses missing and image-less folders', async () => {
    await expect(listBookImages('/no/such/dir')).rejects.toThrow(new BookError('/no/such/dir: no such folder'));
    const d = mkdtempSync(join(tmpdir(), 'book-'));
    await expect(listBookImages(d)).rejects.toThrow(/no page images/);
  });

  it('names pages, variants and books safely', () => {
    expect(pageName('my page.jpg', 41)).toBe('my_page_0042');
    expect(bookNameFromDir(' My  Book ')).toBe('My_Book');
    for (const bad of ['', 'a/b', '..', 'a..b', '.hidden', 'tab\there', 'nul\u0000', 'sp ace']) expect(bookNameProblem(bad), bad).not.toBeNull();
    expect(bookNameProblem('Book_1.v2')).toBeNull();
    expect(kLabel(0.1)).toBe('0.1');
    expect(kLabel(0.25)).toBe('0.25');
    expect(keys.variant('B', 'p_0001', 0.3)).toBe('B/p_0001_bin0.3.png');
    expect(parseVariantName('p_0001_bin0.25.hocr')).toEqual({ page: 'p_0001', k: 0.25 });
    expect(parseVariantName('p_0001.hocr')).toBeNull();
  });
});
