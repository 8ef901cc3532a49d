// spotme as a user runs it (a subprocess), against the fake EC2 server and fauxqs.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePipeline } from '../../pipeline/admin.js';
import { S3Store } from '../../pipeline/aws/s3.js';
import { SqsQueueAdmin } from '../../pipeline/aws/sqs.js';
import { startFakeEc2, type FakeEc2 } from '../support/fake-ec2.js';
import { TEST_REGION, uniqueBucketName, useFauxqs } from '../support/fauxqs.js';
import { run, start } from '../support/run.js';

const fauxqs = useFauxqs();
let scratch: string;
const fakes: FakeEc2[] = [];
/** A fake EC2 of the test's own. */
async function fakeEc2(): Promise<FakeEc2> {
  const f = await startFakeEc2();
  fakes.push(f);
  return f;
}
let configFile: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bp-spotme-'));
  configFile = join(scratch, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      fleet: {
        imageId: 'ami-0123456789abcdef0',
        instanceTypes: ['m5.large'],
        securityGroupIds: ['sg-0bbbb2222'],
        instanceProfile: 'bookpipeline-worker',
        tags: { team: 'ocr' },
      },
    }),
  );
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await rm(scratch, { recursive: true, force: true });
});

function env(ec2: FakeEc2, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: TEST_REGION,
    BOOKPIPELINE_CONFIG: configFile,
    BOOKPIPELINE_EC2_ENDPOINT: ec2.endpoint,
    BOOKPIPELINE_BUCKET: 'spotme-test',
    BOOKPIPELINE_QUEUE_PREFIX: 'spt',
    ...extra,
  };
}

describe('spotme', () => {
  // Independent runs go in pairs (each with its own fake EC2): a subprocess spends most of its
  // time loading TypeScript and the SDK.
  it('--dry-run prints the request and the user data; --check asks EC2 (DryRun); both start nothing', async () => {
    const [ec2, ec2b] = await Promise.all([fakeEc2(), fakeEc2()]);
    const [r, check] = await Promise.all([run('spotme', ['-n', '3', '--dry-run'], env(ec2)), run('spotme', ['--check'], env(ec2b))]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Would start 3 spot worker\(s\) of pipeline spotme-test\/spt in us-east-1 with:/);
    expect(r.stdout).toContain('"MaxCount": 3');
    expect(r.stdout).toContain('"SpotInstanceType": "one-time"');
    expect(r.stdout).toContain('"Value": "spotme-test/spt"');
    expect(r.stdout).toContain("BOOKPIPELINE_PROJECT_SOURCE='s3://spotme-test/dist/bookpipeline.tar.gz'");
    expect(ec2.requests).toEqual([]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/EC2 would accept the request \(DryRun\)/);
    expect(ec2b.calls('RunInstances')[0]!.DryRun).toBe('true');
    expect(ec2b.instances.size).toBe(0);
  });

  it('-n 2 starts two tagged spot workers; --watch without --max is a usage error', async () => {
    const ec2 = await fakeEc2();
    const [r, noMax] = await Promise.all([run('spotme', ['-n', '2'], env(ec2)), run('spotme', ['--watch'], env(ec2))]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^started i-[0-9a-f]{17} \(m5\.large, spot request sir-[0-9a-f]+\)\nstarted i-.*\n2 worker\(s\) started\n$/);
    expect(ec2.instances.size).toBe(2);
    for (const i of ec2.instances.values()) {
      expect(i.spot).toBe(true);
      expect(i.tags.get('bookpipeline:role')).toBe('worker');
      expect(i.tags.get('team')).toBe('ocr');
      expect(i.userData).toContain('"queuePrefix":"spt"');
    }
    expect(noMax).toMatchObject({ code: 2, stderr: 'spotme: --watch needs --max and --pages-per-worker\n' });
  });

  it('says in one line what to change when nothing can be started', async () => {
    const [ec2, ec2b] = await Promise.all([fakeEc2(), fakeEc2()]);
    ec2.capacity.set('m5.large', 0);
    ec2b.spotPrice.set('m5.large', 0.1);
    const [none, cheap] = await Promise.all([run('spotme', [], env(ec2)), run('spotme', ['--max-price', '0.02'], env(ec2b))]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/^spotme: could not start any worker: .*InsufficientInstanceCapacity.*fleet\.instanceTypes/);
    expect(cheap.code).toBe(2);
    expect(cheap.stderr).toMatch(/^spotme: could not start any worker: the spot price is above fleet\.maxPrice 0\.02.*raise fleet\.maxPrice/);
  });

  it('--watch keeps ceil(backlog / P) workers up to --max as the backlog grows, and stops on SIGTERM', async () => {
    const ec2 = await fakeEc2();
    const bucket = uniqueBucketName('spt');
    const prefix = `w${Date.now().toString(36)}`;
    const cfg = { bucket, queuePrefix: prefix, visibilitySeconds: 120, maxReceiveCount: 5 };
    const queues = new SqsQueueAdmin(fauxqs.aws());
    const store = new S3Store({ ...fauxqs.aws(), bucket });
    try {
      await makePipeline({ store, queues }, cfg);
      const ocr = await queues.open(`${prefix}ocrpage`);
      for (let k = 0; k < 3; k++) await ocr.send(`{"v":1,"type":"ocr","book":"b","variant":"p_000${k}_bin0.2.png"}`);
      const w = start(
        'spotme',
        ['--watch', '--max', '3', '--pages-per-worker', '2', '--interval', '1', '--endpoint', fauxqs.endpoint],
        env(ec2, { BOOKPIPELINE_BUCKET: bucket, BOOKPIPELINE_QUEUE_PREFIX: prefix }),
      );
      const wait = async (n: number) => {
        const end = Date.now() + 15_000;
        while (ec2.instances.size < n && Date.now() < end) await sleep(50);
      };
      await wait(2);
      expect(ec2.instances.size).toBe(2); // ceil(3 / 2)
      for (let k = 0; k < 10; k++) await (await queues.open(`${prefix}preprocess`)).send(`{"v":1,"type":"book","book":"b${k}"}`);
      await wait(3);
      // More rounds at the cap start nothing.
      let out = '';
      w.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const end = Date.now() + 15_000;
      while ((out.match(/workers 3, wanted 3 \(max 3\); started none/g) ?? []).length < 1 && Date.now() < end) await sleep(50);
      expect(ec2.instances.size).toBe(3);
      w.child.kill('SIGTERM');
      const r = await w.done;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/backlog 3 \(ocrpage 3\); workers 0, wanted 2 \(max 3\); started i-/);
      expect(r.stdout).toMatch(/backlog 13 \(preprocess 10, ocrpage 3\); workers 2, wanted 3 \(max 3\); started i-/);
      expect(r.stdout).toMatch(/workers 3, wanted 3 \(max 3\); started none/);
      expect(ec2.calls('TerminateInstances')).toEqual([]);
    } finally {
      queues.destroy();
      store.destroy();
    }
  });
});
