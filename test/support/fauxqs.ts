// fauxqs (SQS + S3 emulator) in-process on 127.0.0.1 for one test file.
//
//   const fx = useFauxqs();              // registers beforeAll / afterAll
//   new SqsQueueAdmin(fx.aws());         // inside a test or hook
//   uniqueQueueName('ocr'), uniqueBucketName()

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import type { AwsOptions } from '../../pipeline/aws/options.js';

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' });

export interface FauxqsFixture {
  /** `http://127.0.0.1:<port>`; only valid once beforeAll has run. */
  readonly endpoint: string;
  readonly server: FauxqsServer;
  /** Options for SqsQueueAdmin / S3Store (add `bucket` for S3). */
  aws(extra?: Partial<AwsOptions>): AwsOptions;
}

export function useFauxqs(): FauxqsFixture {
  let server: FauxqsServer | undefined;
  beforeAll(async () => {
    server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1', defaultRegion: TEST_REGION });
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  const running = (): FauxqsServer => {
    if (!server) throw new Error('fauxqs is not running: use the fixture inside tests or hooks');
    return server;
  };
  return {
    get endpoint() {
      return `http://127.0.0.1:${running().port}`;
    },
    get server() {
      return running();
    },
    aws(extra = {}) {
      return {
        region: TEST_REGION,
        endpoint: `http://127.0.0.1:${running().port}`,
        credentials: { ...TEST_CREDENTIALS },
        maxAttempts: 2,
        ...extra,
      };
    },
  };
}

let counter = 0;
function unique(): string {
  counter += 1;
  return `${process.pid.toString(36)}${counter.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A fresh SQS-valid queue name (its DLQ `<name>-dlq` stays within 80 characters). */
export function uniqueQueueName(prefix = 'q'): string {
  return `${prefix}-${unique()}`.slice(0, 70);
}

/** A fresh S3-valid bucket name (lower case, 3-63 characters). */
export function uniqueBucketName(prefix = 'b'): string {
  return `${prefix}-${unique()}`.toLowerCase().slice(0, 63);
}
