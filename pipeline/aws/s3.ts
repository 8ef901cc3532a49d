// Store on one Amazon S3 bucket.

import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PermanentError } from '../errors.js';
import { checkKey, type GetOptions, type ObjectInfo, type PutOptions, type Store } from '../ports.js';
import { classifyAwsError } from './classify.js';
import { clientConfig, installIntercept, type AwsOptions } from './options.js';

export interface S3Options extends AwsOptions {
  bucket: string;
  /** Multipart part size for big uploads (bytes, >= 5 MiB). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel. Default 4. */
  queueSize?: number;
}

const MIB = 1024 * 1024;
/** Buffers up to this size go in one PutObject; bigger ones and streams go through lib-storage's Upload. */
const SINGLE_PUT_MAX = 16 * MIB;

export class S3Store implements Store {
  private readonly client: S3Client;
  readonly bucket: string;
  private readonly region: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(opts: S3Options) {
    this.client = new S3Client({
      ...clientConfig(opts),
      // A custom endpoint (fauxqs, MinIO) has no virtual-host DNS for buckets.
      ...(opts.endpoint !== undefined ? { forcePathStyle: true } : {}),
    });
    installIntercept(this.client.middlewareStack, 's3', opts.intercept);
    this.bucket = opts.bucket;
    this.region = opts.region;
    this.partSize = Math.max(5 * MIB, opts.partSize ?? 8 * MIB);
    this.queueSize = Math.max(1, opts.queueSize ?? 4);
  }

  private async call<T>(operation: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyAwsError(err, {
        operation: key !== undefined ? `${operation} ${this.bucket}/${key}` : `${operation} ${this.bucket}`,
        bucket: this.bucket,
        ...(key !== undefined ? { key } : {}),
      });
    }
  }

  async ensureBucket(): Promise<'created' | 'existed'> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return 'existed';
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && !(err instanceof Error && /NotFound|NoSuchBucket/.test(err.name))) {
        throw classifyAwsError(err, { operation: `HeadBucket ${this.bucket}`, bucket: this.bucket });
      }
    }
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          ...(this.region !== 'us-east-1'
            ? { CreateBucketConfiguration: { LocationConstraint: this.region as BucketLocationConstraint } }
            : {}),
        }),
      );
      return 'created';
    } catch (err) {
      if (err instanceof Error && err.name === 'BucketAlreadyOwnedByYou') return 'existed';
      throw classifyAwsError(err, { operation: `CreateBucket ${this.bucket}`, bucket: this.bucket });
    }
  }

  async put(key: string, body: Buffer | string | Readable, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      if (bytes.length <= SINGLE_PUT_MAX) {
        await this.call('PutObject', key, () =>
          this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body: bytes,
              ContentLength: bytes.length,
              ...(opts.contentType !== undefined ? { ContentType: opts.contentType } : {}),
            }),
            opts.signal ? { abortSignal: opts.signal } : {},
          ),
        );
        return;
      }
      await this.upload(key, Readable.from([bytes]), opts);
      return;
    }
    await this.upload(key, body, opts);
  }

  async putFile(key: string, path: string, opts: PutOptions = {}): Promise<void> {
    checkKey(key);
    await this.upload(key, createReadStream(path), opts);
  }

  /** lib-storage Upload: one PutObject for small bodies, multipart (parallel parts) for big ones. */
  private async upload(key: string, body: Readable, opts: PutOptions): Promise<void> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A read error on the source (missing file) must fail the upload, not hang it.
    const sourceError = new Promise<never>((_, reject) => body.once('error', reject));
    sourceError.catch(() => undefined);
    try {
      const up = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ...(opts.contentType !== undefined ? { ContentType: opts.contentType } : {}),
        },
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
        abortController: controller,
      });
      await Promise.race([this.call('Upload', key, () => up.done()), sourceError]);
    } catch (err) {
      controller.abort();
      body.destroy();
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async open(key: string, opts: GetOptions): Promise<Readable> {
    checkKey(key);
    const out = await this.call('GetObject', key, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), opts.signal ? { abortSignal: opts.signal } : {}),
    );
    if (!(out.Body instanceof Readable)) throw new PermanentError(`GetObject ${this.bucket}/${key}: no body stream`);
    return out.Body;
  }

  async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
    const body = await this.open(key, opts);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    } catch (err) {
      throw classifyAwsError(err, { operation: `GetObject(body) ${this.bucket}/${key}`, bucket: this.bucket });
    }
    return Buffer.concat(chunks);
  }

  async getToFile(key: string, path: string, opts: GetOptions = {}): Promise<void> {
    const body = await this.open(key, opts);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.part`;
    try {
      await pipeline(body, createWriteStream(tmp), opts.signal ? { signal: opts.signal } : {});
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (err instanceof Error && 'path' in err) throw err; // a local file system error, not an S3 one
      throw classifyAwsError(err, { operation: `GetObject(body) ${this.bucket}/${key}`, bucket: this.bucket });
    }
  }

  async head(key: string): Promise<{ size: number; modified: Date } | null> {
    checkKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, modified: out.LastModified ?? new Date(0) };
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (err instanceof Error && /^(NotFound|NoSuchKey)$/.test(err.name))) return null;
      throw classifyAwsError(err, { operation: `HeadObject ${this.bucket}/${key}`, bucket: this.bucket });
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.call('ListObjectsV2', undefined, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            ...(prefix !== '' ? { Prefix: prefix } : {}),
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) checkKey(k);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.call('DeleteObjects', undefined, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const first = out.Errors?.[0];
      if (first) {
        throw classifyAwsError(Object.assign(new Error(first.Message ?? 'delete failed'), { name: first.Code ?? 'Error' }), {
          operation: `DeleteObjects ${this.bucket}/${first.Key ?? '?'} (${out.Errors?.length ?? 1} failed)`,
          bucket: this.bucket,
        });
      }
    }
  }

  /** Close the HTTP connections. */
  destroy(): void {
    this.client.destroy();
  }
}
