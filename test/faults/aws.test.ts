// Scenario 6 (injected AWS faults): three real worker processes on fauxqs and a tiny book of 4
// pages, with AWS errors injected into the workers' S3 and SQS clients by the test hook
// BOOKPIPELINE_TEST_AWS_FAULTS (pipeline/test-hooks.ts: client middleware, inside the SDK's retry
// loop unless a plan says otherwise), and a connection dropped mid-upload by a TCP proxy in front
// of fauxqs (test/support/drop-proxy.ts). The book must come out whole, once, as uninterrupted.
import { describe, expect, it } from 'vitest';
import { queueName } from '../../pipeline/cloud-config.js';
import type { AwsFaultPlan } from '../../pipeline/test-hooks.js';
import { startDropProxy } from '../support/drop-proxy.js';
import { useFauxqs } from '../support/fauxqs.js';
import { useRefBook } from './books.js';
import { checkBook, expectAllExited0, listKeys, makeFauxqsPipeline, sumField, withBook, workerLogs, type Pipeline } from './harness.js';

const fx = useFauxqs();
const PAGES = 4;
const BOOK = 'faultbook';
const INJECTED = 'test hook: AWS fault injected';
const tiny = useRefBook(PAGES);

const faults = (plan: AwsFaultPlan): Record<string, string> => ({ BOOKPIPELINE_TEST_AWS_FAULTS: JSON.stringify(plan) });

/** Three workers (each with its own `env`) until they exit; every one must exit 0. */
async function runWorkers(p: Pipeline, env: (i: number) => Record<string, string>) {
  const rs = await Promise.all([0, 1, 2].map((i) => p.startWorker(env(i)).done));
  expectAllExited0(rs);
  return { rs, logs: workerLogs(rs) };
}

/** The injected errors, counted: `SlowDown 503 ×4, InternalError 500 ×4`. */
function tally(injections: ReadonlyArray<Record<string, unknown>>): string {
  const m = new Map<string, number>();
  for (const l of injections) {
    const k = `${String(l.error)} ${String(l.status)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].map(([k, n]) => `${k} ×${n}`).join(', ');
}

/** AWS calls the workers made (their 'AWS requests' lines: once per call, retries not counted). */
function calls(logs: ReadonlyArray<Record<string, unknown>>): number {
  return logs
    .filter((l) => l.msg === 'AWS requests')
    .reduce((a, l) => {
      const t = (l.requests as { total?: { sqs?: number; s3?: number } } | undefined)?.total;
      return a + (t?.sqs ?? 0) + (t?.s3 ?? 0);
    }, 0);
}

describe('injected AWS faults', () => {
  it('throttling and 5xx on ~12 % of S3 and SQS calls, inside the SDK retry loop: the book comes out whole, once', async () => {
    await withBook(() => makeFauxqsPipeline(fx), BOOK, tiny.book, async (p, t0) => {
      // Each chosen call fails its first two attempts (the errors in turn); the SDK's third
      // attempt (maxAttempts 3, its default) goes through. The SDK retries them by itself: the
      // hook sits after its retry middleware.
      const plan = (seed: number): AwsFaultPlan => ({
        seed,
        where: 'attempt',
        rules: [
          { service: 's3', rate: 0.12, attempts: 2, errors: [{ name: 'SlowDown', status: 503 }, { name: 'InternalError', status: 500 }] },
          { service: 'sqs', rate: 0.12, attempts: 2, errors: [{ name: 'ThrottlingException', status: 400 }, { name: 'ServiceUnavailable', status: 503 }] },
        ],
      });
      const { logs } = await runWorkers(p, (i) => faults(plan(i + 1)));
      const hits = logs.filter((l) => l.msg === INJECTED);
      const s3 = hits.filter((l) => l.service === 's3');
      const sqs = hits.filter((l) => l.service === 'sqs');
      expect(s3.length).toBeGreaterThan(0);
      expect(sqs.length).toBeGreaterThan(0);
      for (const name of ['SlowDown', 'InternalError', 'ThrottlingException', 'ServiceUnavailable']) expect(hits.some((l) => l.error === name), name).toBe(true);
      const n = calls(logs);
      // Retries the runner made (a job failed): only if one call failed all its SDK attempts.
      const runnerRetries = sumField(logs, 'worker stopped', 'retried');
      await checkBook(p, tiny.book, BOOK, tiny.work, {
        scenario: 'AWS throttling + 5xx',
        injected: `${hits.length} faults on ${hits.filter((l) => l.attempt === 1).length} of ${n} calls (2 attempts each, SDK-retried): S3 ${tally(s3)}; SQS ${tally(sqs)}; runner retries ${runnerRetries}`,
        t0,
      });
    });
  }, 180_000);

  it("InvalidParameterValue (SQS's 12-hour ceiling) on one OCR job's heartbeat: that message is dead-lettered with a record; the book completes", async () => {
    await withBook(() => makeFauxqsPipeline(fx), BOOK, tiny.book, async (p, t0) => {
      // The second variant read of page 2 (its k=0.3 reading is below 93, so k=0.2 is read too):
      // slowed past the first heartbeat, whose ChangeMessageVisibility then fails as at the ceiling.
      const variant = `${tiny.book.pages[1]}_bin0.2.png`;
      const plan: AwsFaultPlan = {
        rules: [
          {
            service: 'sqs',
            command: 'ChangeMessageVisibility',
            body: variant,
            extendOnly: true,
            times: 1,
            errors: [
              {
                name: 'InvalidParameterValue',
                status: 400,
                message: 'Value 4 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].',
              },
            ],
          },
        ],
      };
      const { logs } = await runWorkers(p, () => ({ ...faults(plan), BOOKPIPELINE_TEST_SLOW: `${variant}:5000` }));
      const hits = logs.filter((l) => l.msg === INJECTED);
      expect(hits).toHaveLength(1);
      // The record of the dead-lettered job, its failure marker, and its message in the DLQ.
      const keys = await listKeys(p.conn, `${BOOK}/`);
      const records = await Promise.all(keys.filter((k) => k.startsWith(`${BOOK}/errors/`)).map(async (k) => JSON.parse((await p.conn.store.get(k)).toString('utf8')) as { job?: { variant?: string }; why?: string }));
      expect(records).toHaveLength(1);
      expect(records[0]!.job?.variant).toBe(variant);
      expect(records[0]!.why).toMatch(/12-hour/);
      expect(keys).toContain(`${BOOK}/failed/${variant}`);
      const dlq = await p.conn.queues.open(`${queueName(p.cfg, 'ocrpage')}-dlq`);
      const [dead] = await dlq.receive({ max: 1, waitSeconds: 0, visibilitySeconds: 2 });
      expect(dead?.body).toContain(variant);
      expect(dead?.deadLetter?.reason).toMatch(/12-hour/);
      // The page comes out from its other reading (k=0.3, the best in the reference too); conf
      // says the k=0.2 variant failed, so only conf differs from the reference.
      await checkBook(p, tiny.book, BOOK, tiny.work, {
        scenario: 'heartbeat at 12-hour ceiling',
        injected: `InvalidParameterValue (beyond 43200 s) on the heartbeat of ${variant}, slowed to 5 s: dead-lettered with its record`,
        t0,
        dlq: 1,
        conf: false,
      });
    });
  }, 180_000);

  it('ReceiptHandleIsInvalid on DeleteMessage of a finished OCR job: no crash, the message is done again, no duplicate outputs', async () => {
    await withBook(() => makeFauxqsPipeline(fx), BOOK, tiny.book, async (p, t0) => {
      // Each worker's first delete of an OCR message is refused (a stale handle: SQS gave the
      // message to another receipt). The adapter ignores it; the message comes back.
      const plan: AwsFaultPlan = {
        rules: [{ service: 'sqs', command: 'DeleteMessage', body: '"type":"ocr"', times: 1, errors: [{ name: 'ReceiptHandleIsInvalid', status: 400, message: 'The input receipt handle is invalid.' }] }],
      };
      const { logs } = await runWorkers(p, () => faults(plan));
      const hits = logs.filter((l) => l.msg === INJECTED);
      expect(hits.length).toBeGreaterThanOrEqual(1);
      // Every refused message was done again, on a later receipt.
      for (const h of hits) {
        const done = logs.filter((l) => l.msg === 'job done' && l.msgId === h.msgId);
        expect(done.length, String(h.msgId)).toBeGreaterThanOrEqual(2);
        expect(Math.max(...done.map((l) => Number(l.receiveCount)))).toBeGreaterThanOrEqual(2);
      }
      await checkBook(p, tiny.book, BOOK, tiny.work, {
        scenario: 'stale receipt handle on delete',
        injected: `ReceiptHandleIsInvalid on ${hits.length} DeleteMessage of OCR jobs (1st per worker); each done again`,
        t0,
      });
    });
  }, 180_000);

  it('a connection dropped mid-upload (a TCP proxy cuts S3 PUTs of a variant and of an hOCR halfway): the book comes out whole, once', async () => {
    const proxy = await startDropProxy(fx.endpoint, [
      { method: 'PUT', path: /_bin0\.3\.png\?/, times: 2 },
      { method: 'PUT', path: /\.hocr\?/, times: 2 },
    ]);
    try {
      await withBook(() => makeFauxqsPipeline(fx, { workerEndpoint: proxy.endpoint }), BOOK, tiny.book, async (p, t0) => {
        const { logs } = await runWorkers(p, () => ({}));
        expect(proxy.dropped).toHaveLength(4);
        const runnerRetries = sumField(logs, 'worker stopped', 'retried');
        await checkBook(p, tiny.book, BOOK, tiny.work, {
          scenario: 'connection dropped mid-upload',
          injected: `TCP proxy cut ${proxy.dropped.length} S3 PUTs halfway through the body (2 _bin0.3.png, 2 .hocr) of ${proxy.requests()} requests; runner retries ${runnerRetries}`,
          t0,
        });
      });
    } finally {
      await proxy.close();
    }
  }, 180_000);
});
