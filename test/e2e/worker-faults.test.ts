// The worker under faults: SIGTERM mid-job (a real process on fauxqs), and AWS errors injected
// through the adapters' intercept hook (in-process): throttling on a receive, SQS's 12-hour
// ceiling on ChangeMessageVisibility, a stale receipt handle on DeleteMessage.

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import sharp, { type Sharp } from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePipeline } from '../../pipeline/admin.js';
import type { AwsInterceptor } from '../../pipeline/aws/options.js';
import { queueName } from '../../pipeline/cloud-config.js';
import { connect, type Connection } from '../../pipeline/connect.js';
import { formatMessage } from '../../pipeline/messages.js';
import type { QueueMessage } from '../../pipeline/ports.js';
import { startPipelineWorker } from '../../pipeline/worker.js';
import { buildWorkerConfig, type WorkerConfig, type WorkerFlags } from '../../pipeline/worker-config.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueBucketName, uniqueQueueName, useFauxqs } from '../support/fauxqs.js';
import { run, start } from '../support/run.js';
import { SAMPLE_PAGE } from '../support/tinybook.js';

const fauxqs = useFauxqs();
const awsEnv = {
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: TEST_REGION,
};

/** A binarised variant: the whole sample page (OCR takes seconds) or a small part (well under one). */
let bigVariant: Buffer;
let smallVariant: Buffer;
beforeAll(async () => {
  Object.assign(process.env, awsEnv);
  const bin = (img: Sharp) => img.greyscale().threshold(150).withMetadata({ density: 300 }).png().toBuffer();
  bigVariant = await bin(sharp(SAMPLE_PAGE));
  smallVariant = await bin(sharp(SAMPLE_PAGE).extract({ left: 300, top: 420, width: 1200, height: 300 }));
});

interface Pipeline {
  flags: WorkerFlags;
  cfg: WorkerConfig;
  conn: Connection;
  cliFlags: string[];
}

/** A fresh bucket and queues on fauxqs, with one OCR job waiting. */
async function pipelineWithOcrJob(variant: Buffer, extra: WorkerFlags = {}): Promise<Pipeline & { variantKey: string }> {
  const bucket = uniqueBucketName('flt');
  const queuePrefix = uniqueQueueName('flt').replace(/-/g, '');
  const flags: WorkerFlags = {
    conn: 'aws',
    endpoint: fauxqs.endpoint,
    region: TEST_REGION,
    bucket,
    queuePrefix,
    queues: 'ocrpage',
    concurrency: 1,
    exitOnComplete: true,
    autostop: 60,
    ...extra,
  };
  const cfg = buildWorkerConfig(flags, {});
  const conn = await connect(cfg.pipeline);
  await makePipeline(conn, cfg.pipeline);
  const variantKey = 'FaultBook/page_0001_bin0.2.png';
  await conn.store.put('FaultBook/page_0001.jpg', 'the original (not used by OCR)');
  await conn.store.put(variantKey, variant);
  await (await conn.queues.open(queueName(cfg.pipeline, 'ocrpage'))).send(
    formatMessage({ type: 'ocr', book: 'FaultBook', variant: 'page_0001_bin0.2.png' }),
  );
  const cliFlags = ['-c', 'aws', '--endpoint', fauxqs.endpoint, '--bucket', bucket, '--queue-prefix', queuePrefix];
  return { flags, cfg, conn, cliFlags, variantKey };
}

function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

async function drain(conn: Connection, name: string): Promise<QueueMessage[]> {
  const q = await conn.queues.open(name);
  const out: QueueMessage[] = [];
  for (;;) {
    const got = await q.receive({ max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    if (got.length === 0) return out;
    out.push(...got);
  }
}

const awsError = (name: string, message: string, status = 400) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

describe('SIGTERM mid-job', () => {
  it.each([
    { name: 'one signal: the grace period runs out, the message is released, exit 0', signals: 1, grace: '1' },
    { name: 'two signals: released at once, exit 0', signals: 2, grace: '60' },
  ])('$name', async ({ signals, grace }) => {
    const p = await pipelineWithOcrJob(bigVariant);
    try {
      const w = start('bookpipeline', [...p.cliFlags, '--queues', 'ocrpage', '-j', '1', '--grace', grace, '-v'], awsEnv);
      const t0 = Date.now();
      while (!w.stderr().includes('"job started"')) {
        if (Date.now() - t0 > 60_000) throw new Error(`the job did not start: ${w.stderr().slice(-2000)}`);
        await sleep(50);
      }
      await sleep(300);
      const signalled = Date.now();
      w.child.kill('SIGTERM');
      if (signals === 2) {
        await sleep(200);
        w.child.kill('SIGTERM');
      }
      const r = await w.done;
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(signals === 2 ? 5_000 : 6_000);
      expect(r.stderr).toMatch(/releasing unfinished jobs/);
      // Visible again at once, not after the visibility timeout.
      const ocr = await p.conn.queues.open(queueName(p.cfg.pipeline, 'ocrpage'));
      expect(await ocr.counts()).toEqual({ available: 1, inFlight: 0 });
      const [again] = await ocr.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 30 });
      expect(again?.receiveCount).toBe(2);
    } finally {
      await p.conn.close();
    }
  }, 90_000);
});

describe('AWS errors injected through the intercept hook', () => {
  it('throttling on GetQueueUrl at start-up and on ReceiveMessage (past the SDK\'s retries): tried again, the worker starts and the job gets done', async () => {
    const p = await pipelineWithOcrJob(smallVariant);
    let throttled = 0;
    let openThrottled = 0;
    const intercept: AwsInterceptor = ({ command }) => {
      if (command === 'GetQueueUrlCommand' && openThrottled < 2) {
        openThrottled += 1;
        throw awsError('ThrottlingException', 'Rate exceeded');
      }
      if (command === 'ReceiveMessageCommand' && throttled < 2) {
        throttled += 1;
        throw awsError('ThrottlingException', 'Rate exceeded');
      }
    };
    const { log, lines } = capture();
    try {
      const w = await startPipelineWorker(p.cfg, log, { intercept, idleCheckSeconds: 0.5 });
      const r = await w.done;
      await w.close();
      expect(r.reason).toBe('complete');
      expect(throttled).toBe(2);
      expect(openThrottled).toBe(2);
      expect(lines.filter((l) => l.msg === 'start-up call failed; trying again')).toHaveLength(2);
      expect(r.stats).toMatchObject({ succeeded: 1, deadLettered: 0 });
      expect(lines.some((l) => l.msg === 'receive failed' && String(l.err).includes('Rate exceeded'))).toBe(true);
      expect(await p.conn.store.head('FaultBook/page_0001_bin0.2.hocr')).not.toBeNull();
      expect(r.requests.sqs.ReceiveMessage).toBeGreaterThanOrEqual(3);
    } finally {
      await p.conn.close();
    }
  }, 60_000);

  it('InvalidParameterValue on ChangeMessageVisibility (the 12-hour ceiling): the job ends cleanly, dead-lettered with its record', async () => {
    const p = await pipelineWithOcrJob(bigVariant, { visibility: 3, heartbeat: 1 });
    const intercept: AwsInterceptor = ({ command, input }) => {
      if (command === 'ChangeMessageVisibilityCommand' && Number(input.VisibilityTimeout) > 0) {
        throw awsError(
          'InvalidParameterValue',
          `Value ${String(input.VisibilityTimeout)} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].`,
        );
      }
    };
    const { log } = capture();
    try {
      const w = await startPipelineWorker(p.cfg, log, { intercept, idleCheckSeconds: 0.5 });
      const r = await w.done;
      await w.close();
      expect(r.reason).toBe('complete');
      expect(r.stats).toMatchObject({ received: 1, deadLettered: 1, retried: 0, succeeded: 0 });
      const dead = await drain(p.conn, `${queueName(p.cfg.pipeline, 'ocrpage')}-dlq`);
      expect(dead).toHaveLength(1);
      expect(dead[0]?.deadLetter?.reason).toMatch(/12-hour/);
      const keys: string[] = [];
      for await (const o of p.conn.store.list('FaultBook/')) keys.push(o.key);
      expect(keys.filter((k) => k.startsWith('FaultBook/errors/'))).toHaveLength(1);
      expect(keys).toContain('FaultBook/failed/page_0001_bin0.2.png');
    } finally {
      await p.conn.close();
    }
  }, 90_000);

  it('ReceiptHandleIsInvalid on DeleteMessage: no crash; the message comes back and is done again', async () => {
    const p = await pipelineWithOcrJob(smallVariant, { visibility: 2, heartbeat: 1 });
    let refused = 0;
    const intercept: AwsInterceptor = ({ command }) => {
      if (command === 'DeleteMessageCommand' && refused === 0) {
        refused += 1;
        throw awsError('ReceiptHandleIsInvalid', 'The input receipt handle is invalid.');
      }
    };
    const { log } = capture();
    try {
      const w = await startPipelineWorker(p.cfg, log, { intercept, idleCheckSeconds: 0.5 });
      const r = await w.done;
      await w.close();
      expect(r.reason).toBe('complete');
      expect(refused).toBe(1);
      expect(r.stats).toMatchObject({ received: 2, succeeded: 2, deadLettered: 0 });
      expect(await p.conn.store.head('FaultBook/page_0001_bin0.2.hocr')).not.toBeNull();
    } finally {
      await p.conn.close();
    }
  }, 60_000);
});

describe('on an instance of its own (--shutdown)', () => {
  it('after --autostop: ships its log to the bucket, runs the power-off command, exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bp-shutdown-'));
    try {
      const flags = ['-c', 'local', '--local-dir', dir];
      expect((await run('mkpipeline', flags)).code).toBe(0);
      const marker = join(dir, 'powered-off');
      const r = await run('bookpipeline', [...flags, '--autostop', '1', '--shutdown', '--no-spot', '--poweroff-command', `touch ${marker}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(marker)).toBe(true);
      const logs = join(dir, 'storage', 'rescribeinprogress', 'logs');
      const [run1] = await readdir(logs);
      const parts = await readdir(join(logs, run1!));
      const text = (await Promise.all(parts.map((p) => readFile(join(logs, run1!, p), 'utf8')))).join('');
      expect(text).toMatch(/"msg":"autostop: nothing to do"/);
      expect(text).toMatch(/"msg":"powering off"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
