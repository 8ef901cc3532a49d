// Store in memory, for one process (tests). Same rules as the S3 and directory stores.

import { createWriteStream } from 'node:fs';
import { readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../errors.js';
import { checkKey, compareKeys, type GetOptions, type ObjectInfo, type PutOptions, type Store } from '../ports.js';

interface Obj {
  data: Buffer;
  modified: Date;
}

export class MemoryStore implements Store {
  private readonly objects = new Map<string, Obj>();
  private created = false;

  async ensureBucket(): Promise<'created' | 'existed'> {
    if (this.created) return 'existed';
    this.created = true;
    return 'created';
  }

  async put(key: string, body: Buffer | string | Readable, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    let data: Buffer;
    if (typeof body === 'string') data = Buffer.from(body, 'utf8');
    else if (Buffer.isBuffer(body)) data = Buffer.from(body); // a copy: the caller may reuse its buffer
    else {
      const chunks: Buffer[] = [];
      for await (const c of body) {
        opts.signal?.throwIfAborted();
        chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
      }
      data = Buffer.concat(chunks);
    }
    this.objects.set(key, { data, modified: new Date() });
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    const data = await readFile(path, opts.signal ? { signal: opts.signal } : {});
    this.objects.set(key, { data, modified: new Date() });
  }

  private obj(key: string): Obj {
    checkKey(key);
    const o = this.objects.get(key);
    if (!o) throw new NotFoundError('object', key);
    return o;
  }

  async get(key: string, _opts: GetOptions = {}): Promise<Buffer> {
    return Buffer.from(this.obj(key).data);
  }

  async getToFile(key: string, path: string, _opts: GetOptions = {}): Promise<void> {
    const { data } = this.obj(key);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.part`;
    try {
      await new Promise<void>((res, rej) => {
        const ws = createWriteStream(tmp);
        ws.on('error', rej);
        ws.end(data, () => res());
      });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async head(key: string): Promise<{ size: number; modified: Date } | null> {
    checkKey(key);
    const o = this.objects.get(key);
    return o ? { size: o.data.length, modified: o.modified } : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
    for (const key of keys) {
      const o = this.objects.get(key);
      if (o) yield { key, size: o.data.length, modified: o.modified };
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) checkKey(k);
    for (const k of keys) this.objects.delete(k);
  }
}
