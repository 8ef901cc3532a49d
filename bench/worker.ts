// Wall time and AWS requests of the cloud pipeline against rescribe on the same book.
//
//   npx tsx bench/worker.ts BOOKDIR [--workers 2] [--thresholds 0.1,0.2,0.4,0.5] [--skip-rescribe]
//
// Starts fauxqs in this process, runs mkpipeline and booktopipeline, then N `bookpipeline
// --exit-on-complete` workers (each -j cores/N), and rescribe -j cores. Prints the wall times and
// the S3 and SQS requests per page (counted by the workers through the adapters' intercept hook).
// Not a test: it takes minutes on a full-size book.

import { availableParallelism, tmpdir } from 'node:os';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFauxqs } from 'fauxqs';
import { logLines, run, start } from '../test/support/run.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workers: { type: 'string', default: '2' },
    thresholds: { type: 'string', default: '0.1,0.2,0.4,0.5' },
    'skip-rescribe': { type: 'boolean', default: false },
  },
});
const bookdir = positionals[0];
if (!bookdir) {
  console.error('usage: npx tsx bench/worker.ts BOOKDIR [--workers N] [--thresholds LIST] [--skip-rescribe]');
  process.exit(2);
}
const workers = Number(values.workers);
const cores = availableParallelism();
const pages = (await readdir(bookdir)).filter((f) => /\.(jpe?g|png|tiff?)$/i.test(f)).length;

const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1', defaultRegion: 'us-east-1' });
const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
const flags = ['-c', 'aws', '--endpoint', `http://127.0.0.1:${server.port}`, '--bucket', 'bench', '--queue-prefix', 'bench'];
const work = await mkdtemp(join(tmpdir(), 'bp-bench-'));
try {
  const mk = await run('mkpipeline', flags, env);
  if (mk.code !== 0) throw new Error(mk.stderr);
  const up = await run('booktopipeline', [...flags, '--nowipe', bookdir], env);
  if (up.code !== 0) throw new Error(up.stderr);
  const perWorker = Math.max(1, Math.floor(cores / workers));
  const args = [...flags, '--exit-on-complete', '--thresholds', values.thresholds, '-j', String(perWorker)];
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: workers }, () => start('bookpipeline', args, env, 3_600_000).done));
  const pipelineSeconds = (Date.now() - t0) / 1000;
  for (const r of results) if (r.code !== 0) throw new Error(r.stderr.slice(-3000));
  const sum: { sqs: Record<string, number>; s3: Record<string, number> } = { sqs: {}, s3: {} };
  for (const r of results) {
    for (const l of logLines(r.stderr)) {
      if (l.msg !== 'AWS requests') continue;
      const req = l.requests as typeof sum;
      for (const svc of ['sqs', 's3'] as const) for (const [k, v] of Object.entries(req[svc])) sum[svc][k] = (sum[svc][k] ?? 0) + v;
    }
  }
  const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  console.log(`book: ${pages} pages, thresholds ${values.thresholds}, ${cores} cores`);
  console.log(`pipeline: ${workers} workers × -j ${perWorker}: ${pipelineSeconds.toFixed(1)} s`);
  console.log(`  SQS ${total(sum.sqs)} requests = ${(total(sum.sqs) / pages).toFixed(1)}/page  ${JSON.stringify(sum.sqs)}`);
  console.log(`  S3  ${total(sum.s3)} requests = ${(total(sum.s3) / pages).toFixed(1)}/page  ${JSON.stringify(sum.s3)}`);
  if (!values['skip-rescribe']) {
    const t1 = Date.now();
    // The same work as the workers (every variant read), when rescribe would read fewer.
    const all = (await run('rescribe', ['--help'])).stdout.includes('--all-variants') ? ['--all-variants'] : [];
    const r = await run('rescribe', ['--thresholds', values.thresholds, '-j', String(cores), ...all, bookdir, join(work, 'out')], {}, 3_600_000);
    if (r.code !== 0) throw new Error(r.stderr.slice(-3000));
    console.log(`rescribe -j ${cores} ${all.join(' ')}: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
