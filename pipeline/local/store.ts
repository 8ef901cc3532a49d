// Store in a directory: key `book/page_0001.jpg` is the file `<root>/book/page_0001.jpg`.
//
// - Keys follow the rules of ports.ts `checkKey` (no `..`, no absolute keys, no NUL, ...), so a
//   key can never name a file outside the root. The top-level name `.dirstore-tmp` is reserved.
// - Writes are atomic: a temporary file in `<root>/.dirstore-tmp/`, then rename(2) into place,
//   so readers (other processes too) see the old object or the new one, never part of one.
// - `list` honours the prefix exactly (`Book1/` does not match `Book10/`) and yields keys in
//   S3's order (UTF-8 bytes), walking one directory at a time.
// Differences from S3 a file system forces: a key cannot be both an object and a "folder"
// (`a` and `a/b`); empty folders left by `delete` are removed.

import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidKeyError, NotFoundError } from '../errors.js';
import { checkKey, compareKeys, type GetOptions, type ObjectInfo, type PutOptions, type Store } from '../ports.js';

export const DIRSTORE_TMP = '.dirstore-tmp';

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function tmpName(): string {
  return `${process.pid}-${randomBytes(8).toString('hex')}`;
}

export class DirStore implements Store {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file of a key, after checking the key. */
  pathOf(key: string): string {
    checkKey(key);
    const segs = key.split('/');
    if (segs[0] === DIRSTORE_TMP) throw new InvalidKeyError(key, `"${DIRSTORE_TMP}" is reserved by the directory store`);
    return join(this.root, ...segs);
  }

  async ensureBucket(): Promise<'created' | 'existed'> {
    try {
      const st = await stat(this.root);
      if (st.isDirectory()) return 'existed';
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
    await mkdir(this.root, { recursive: true });
    return 'created';
  }

  /** Write to a temporary file with `write`, then move it to `key` atomically. */
  private async writeAtomic(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    const tmpDir = join(this.root, DIRSTORE_TMP);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, tmpName());
    try {
      await write(tmp);
      await this.moveInto(tmp, target, key);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  private async moveInto(tmp: string, target: string, key: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dirname(target), { recursive: true });
        await rename(tmp, target);
        return;
      } catch (err) {
        const code = errCode(err);
        // A concurrent delete pruned the (then empty) parent folder between mkdir and rename.
        if (code === 'ENOENT' && attempt < 5) continue;
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
          throw new InvalidKeyError(key, 'conflicts with an existing key (a key cannot be both an object and a folder)');
        }
        throw err;
      }
    }
  }

  async put(key: string, body: Buffer | string | Readable, opts: PutOptions = {}): Promise<void> {
    const signal = opts.signal ? { signal: opts.signal } : {};
    await this.writeAtomic(key, async (tmp) => {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        await writeFile(tmp, body, { flag: 'wx', ...signal });
      } else {
        await pipeline(body, createWriteStream(tmp, { flags: 'wx' }), signal);
      }
    });
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    await this.writeAtomic(key, (tmp) => copyFile(path, tmp));
  }

  async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
    const file = this.pathOf(key);
    try {
      return await readFile(file, opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new NotFoundError('object', key, { cause: err });
      throw err;
    }
  }

  async getToFile(key: string, path: string, opts: GetOptions = {}): Promise<void> {
    const file = this.pathOf(key);
    opts.signal?.throwIfAborted();
    const tmp = `${path}.${randomBytes(6).toString('hex')}.part`;
    try {
      await copyFile(file, tmp);
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      const code = errCode(err);
      const missing = code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
      if (missing && !(await stat(file).then((s) => s.isFile(), () => false))) {
        throw new NotFoundError('object', key, { cause: err });
      }
      throw err;
    }
  }

  async head(key: string): Promise<{ size: number; modified: Date } | null> {
    const file = this.pathOf(key);
    try {
      const st = await stat(file);
      return st.isFile() ? { size: st.size, modified: st.mtime } : null;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Start in the deepest folder the prefix names completely: `Book1/pa` → `<root>/Book1`.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut >= 0 ? prefix.slice(0, cut + 1) : '';
    const segs = dirKey === '' ? [] : dirKey.slice(0, -1).split('/');
    for (const s of segs) {
      // No key has such a segment, so nothing can match (and we never leave the root).
      if (s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) return;
    }
    if (segs[0] === DIRSTORE_TMP) return;
    yield* this.walk(join(this.root, ...segs), dirKey, prefix);
  }

  private async *walk(dir: string, dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    // Sort as S3 would sort the full keys: a folder `a` sorts as `a/` (so `a-b` < `a/x`).
    const items = entries
      .filter((e) => !(dirKey === '' && e.name === DIRSTORE_TMP))
      .filter((e) => e.isFile() || e.isDirectory())
      .map((e) => ({ name: e.name, isDir: e.isDirectory(), sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const item of items) {
      const key = dirKey + item.name;
      if (item.isDir) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(join(dir, item.name), sub, prefix);
      } else if (key.startsWith(prefix)) {
        let st;
        try {
          st = await stat(join(dir, item.name));
        } catch (err) {
          if (errCode(err) === 'ENOENT') continue; // deleted meanwhile
          throw err;
        }
        yield { key, size: st.size, modified: st.mtime };
      }
    }
  }

  async delete(keys: string[]): Promise<void> {
    const files = keys.map((k) => this.pathOf(k));
    const parents = new Set<string>();
    // A few at a time: thousands of unlinks at once would only queue up in libuv's pool.
    for (let i = 0; i < files.length; i += 64) {
      await Promise.all(
        files.slice(i, i + 64).map(async (f) => {
          try {
            await unlink(f);
          } catch (err) {
            const code = errCode(err);
            if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR' && code !== 'EPERM') throw err;
          }
          parents.add(dirname(f));
        }),
      );
    }
    // Remove folders left empty, deepest first, never the root.
    const ordered = [...parents].sort((a, b) => b.length - a.length);
    for (let d of ordered) {
      while (d.startsWith(this.root + sep) && d !== this.root) {
        try {
          await rmdir(d);
        } catch {
          break; // not empty (or gone): stop climbing
        }
        d = dirname(d);
      }
    }
  }
}
