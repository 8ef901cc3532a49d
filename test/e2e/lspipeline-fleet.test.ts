// lspipeline's workers and recent logs: instances from the fake EC2 (started through the Fleet
// adapter), logs shipped to the bucket on fauxqs, lspipeline run as a subprocess.

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePipeline } from '../../pipeline/admin.js';
import { Ec2Fleet } from '../../pipeline/aws/ec2.js';
import { S3Store } from '../../pipeline/aws/s3.js';
import { SqsQueueAdmin } from '../../pipeline/aws/sqs.js';
import { buildFleetConfig } from '../../pipeline/fleet-config.js';
import { LogShipper } from '../../pipeline/logship.js';
import { startFakeEc2, type FakeEc2 } from '../support/fake-ec2.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueBucketName, useFauxqs } from '../support/fauxqs.js';
import { run } from '../support/run.js';

const fauxqs = useFauxqs();
let ec2: FakeEc2;
const bucket = uniqueBucketName('lsf');
const queuePrefix = `ls${Date.now().toString(36)}`;
const cfg = { region: TEST_REGION, bucket, queuePrefix, visibilitySeconds: 120, maxReceiveCount: 5 };
let running: { id: string; privateIp: string };
let stopped: string;

beforeAll(async () => {
  ec2 = await startFakeEc2();
  const queues = new SqsQueueAdmin(fauxqs.aws());
  const store = new S3Store({ ...fauxqs.aws(), bucket });
  await makePipeline({ store, queues }, cfg);
  const fleet = new Ec2Fleet({
    fleet: buildFleetConfig(cfg, { ec2Endpoint: ec2.endpoint }, {}, {}),
    pipeline: cfg,
    userData: '#!/bin/sh\n',
    credentials: { ...TEST_CREDENTIALS },
  });
  const [a, b] = await fleet.start(2);
  await fleet.terminate([b!.id]);
  ec2.advance(); // a running, b terminated
  stopped = b!.id;
  const inst = ec2.instances.get(a!.id)!;
  running = { id: inst.id, privateIp: inst.privateIp };
  fleet.destroy();
  ec2.addForeign();
  // The running worker's log (EC2 host name ip-a-b-c-d), and one of a machine that is gone.
  const host = `ip-${running.privateIp.replace(/\./g, '-')}`;
  const ship = new LogShipper({ store, host, intervalMs: 0 });
  const log = pino({ base: undefined }, ship);
  for (let k = 1; k <= 8; k++) log.info({ book: 'b', page: k }, `page ${k} done`);
  await ship.close();
  const old = new LogShipper({ store, host: 'ip-10-9-9-9', start: new Date('2020-01-01T00:00:00Z'), intervalMs: 0 });
  old.write('{"msg":"long ago"}\n');
  await old.close();
  queues.destroy();
  store.destroy();
});
afterAll(async () => {
  await ec2.close();
});

const env = (extra: Record<string, string> = {}) => ({
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: TEST_REGION,
  BOOKPIPELINE_BUCKET: bucket,
  BOOKPIPELINE_QUEUE_PREFIX: queuePrefix,
  ...extra,
});

describe('lspipeline: workers and their logs', () => {
  it('lists this pipeline\'s workers and the last lines of each running one\'s log', async () => {
    const r = await run('lspipeline', ['--endpoint', fauxqs.endpoint, '--nobooks', '-n', '3'], env({ BOOKPIPELINE_EC2_ENDPOINT: ec2.endpoint }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('# Instances');
    const inst = lines.slice(1, lines.indexOf(''));
    expect(inst).toHaveLength(1); // the terminated one and the foreign one are not shown
    expect(inst[0]).toMatch(
      new RegExp(`^ID: ${running.id}, Type: m5\\.large, LaunchTime: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ, State: running, Name: bookpipeline-worker, IP: 203\\.0\\.113\\.\\d+, SpotRequest: sir-[0-9a-f]+$`),
    );
    expect(r.stdout).not.toContain(stopped);
    expect(r.stdout).toMatch(/# Queues\npreprocess /);
    expect(r.stdout).toMatch(
      new RegExp(`# Recent logs\\n\\nip-${running.privateIp.replace(/\./g, '-')} \\(${running.id}\\), last shipped [^\\n]+:\\n  \\d\\d:\\d\\d:\\d\\dZ INFO page 6 done book=b page=6\\n  .*page 7 done.*\\n  .*page 8 done book=b page=8\\n`),
    );
    expect(r.stdout).not.toContain('long ago');
    expect(ec2.rejected).toEqual([]);
  });

  it('when EC2 cannot be asked, says why and shows the rest', async () => {
    ec2.inject({ action: 'DescribeInstances', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403, times: Infinity });
    const r = await run('lspipeline', ['--endpoint', fauxqs.endpoint, '--nobooks', '--json'], env({ BOOKPIPELINE_EC2_ENDPOINT: ec2.endpoint }));
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { instancesError?: string; instances?: unknown; queues: unknown[]; logs?: Array<{ host: string }> };
    expect(rep.instancesError).toMatch(/DescribeInstances: UnauthorizedOperation: You are not authorized/);
    expect(rep.instances).toBeUndefined();
    expect(rep.queues).toHaveLength(5);
    // Without the instances: every log shipped in the last 15 minutes (both, here).
    expect(rep.logs?.map((l) => l.host).sort()).toEqual(['ip-10-9-9-9', `ip-${running.privateIp.replace(/\./g, '-')}`].sort());
  });

  it('a test setup (--endpoint without an EC2 endpoint) does not ask EC2', async () => {
    const before = ec2.requests.length;
    const r = await run('lspipeline', ['--endpoint', fauxqs.endpoint, '--nobooks'], env());
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('# Instances');
    expect(r.stdout).toContain('# Recent logs');
    expect(ec2.requests.length).toBe(before);
  });
});
