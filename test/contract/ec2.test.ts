// The EC2 fleet adapter with the real @aws-sdk/client-ec2, over HTTP, against the fake EC2 server
// in test/support/fake-ec2.ts (a fake: it encodes our reading of the EC2 API Reference).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Ec2Fleet, type Ec2FleetOptions } from '../../pipeline/aws/ec2.js';
import { classifyAwsError } from '../../pipeline/aws/classify.js';
import { ConfigError, PermanentError, TransientError } from '../../pipeline/errors.js';
import { FleetCapacityError, FleetRefusedError, SpotPriceTooLowError } from '../../pipeline/fleet.js';
import { buildFleetConfig, loadUserData, type FleetConfig } from '../../pipeline/fleet-config.js';
import { startFakeEc2, type FakeEc2 } from '../support/fake-ec2.js';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/fauxqs.js';

const pipeline = { region: TEST_REGION, bucket: 'books-test', queuePrefix: 'tst', visibilitySeconds: 120, maxReceiveCount: 5 };
let ec2: FakeEc2;

beforeAll(async () => {
  ec2 = await startFakeEc2();
});
afterAll(async () => {
  await ec2.close();
});
afterEach(() => {
  // Nothing the fake does not model was asked for.
  expect(ec2.rejected).toEqual([]);
  ec2.reset();
});

function fleetConfig(fleet: Record<string, unknown> = {}): FleetConfig {
  return buildFleetConfig(pipeline, {}, {}, {
    fleet: {
      endpoint: ec2.endpoint,
      imageId: 'ami-0123456789abcdef0',
      instanceTypes: ['m5.large'],
      subnetIds: ['subnet-0aaaa1111'],
      securityGroupIds: ['sg-0bbbb2222'],
      instanceProfile: 'bookpipeline-worker',
      keyName: 'ops',
      maxPrice: '0.05',
      tags: { project: 'ocr' },
      projectSource: 's3://books-test/dist/bookpipeline.tar.gz',
      ...fleet,
    },
  });
}

const fleets: Ec2Fleet[] = [];
afterAll(() => fleets.forEach((f) => f.destroy()));

function fleetOf(fleet: FleetConfig, extra: Partial<Ec2FleetOptions> = {}): Ec2Fleet {
  const f = new Ec2Fleet({
    fleet,
    pipeline,
    userData: loadUserData(fleet, pipeline),
    credentials: { ...TEST_CREDENTIALS },
    retry: { baseMs: 1, maxMs: 5 },
    log: pino({ level: 'silent' }),
    ...extra,
  });
  fleets.push(f);
  return f;
}

describe('Ec2Fleet against the fake EC2', () => {
  it('starts one-time spot workers with every setting, tags and base64 user data', async () => {
    const fleet = fleetOf(fleetConfig());
    const started = await fleet.start(2);
    expect(started).toHaveLength(2);
    for (const w of started) {
      expect(w).toMatchObject({ type: 'm5.large', state: 'pending', lifecycle: 'spot', name: 'bookpipeline-worker' });
      expect(w.id).toMatch(/^i-[0-9a-f]{17}$/);
      expect(w.spotRequestId).toMatch(/^sir-/);
      expect(w.launchedAt).toBeInstanceOf(Date);
    }
    // The request the fake received, parameter by parameter.
    const [p] = ec2.calls('RunInstances');
    expect(p).toMatchObject({
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 'm5.large',
      MinCount: '1',
      MaxCount: '2',
      SubnetId: 'subnet-0aaaa1111',
      'SecurityGroupId.1': 'sg-0bbbb2222',
      'IamInstanceProfile.Name': 'bookpipeline-worker',
      KeyName: 'ops',
      'InstanceMarketOptions.MarketType': 'spot',
      'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'one-time',
      'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'terminate',
      'InstanceMarketOptions.SpotOptions.MaxPrice': '0.05',
      InstanceInitiatedShutdownBehavior: 'terminate',
      'MetadataOptions.HttpTokens': 'required',
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.2.ResourceType': 'volume',
    });
    expect(p!.ClientToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(ec2.requests.every((r) => r.signed)).toBe(true);
    const inst = ec2.instances.get(started[0]!.id)!;
    expect(Object.fromEntries(inst.tags)).toEqual({
      project: 'ocr',
      Name: 'bookpipeline-worker',
      'bookpipeline:role': 'worker',
      'bookpipeline:pipeline': 'books-test/tst',
    });
    expect(Object.fromEntries(inst.volumeTags)).toEqual(Object.fromEntries(inst.tags));
    // User data: base64 on the wire, the template with the settings filled in.
    expect(inst.userData).toMatch(/^#!\/bin\/bash/);
    expect(inst.userData).toContain("BOOKPIPELINE_PROJECT_SOURCE='s3://books-test/dist/bookpipeline.tar.gz'");
    expect(inst.userData).toContain('"bucket":"books-test"');
    expect(inst.userData).not.toContain('#@BOOKPIPELINE_SETTINGS@');
  });

  it('takes an instance profile ARN and no subnet, security group, key or max price', async () => {
    const fleet = fleetOf(
      fleetConfig({
        subnetIds: [],
        securityGroupIds: [],
        keyName: undefined,
        maxPrice: undefined,
        instanceProfile: 'arn:aws:iam::123456789012:instance-profile/w',
      }),
    );
    await fleet.start(1);
    const [p] = ec2.calls('RunInstances');
    expect(p!['IamInstanceProfile.Arn']).toBe('arn:aws:iam::123456789012:instance-profile/w');
    for (const k of ['SubnetId', 'SecurityGroupId.1', 'KeyName', 'InstanceMarketOptions.SpotOptions.MaxPrice', 'IamInstanceProfile.Name']) {
      expect(p).not.toHaveProperty(k);
    }
  });

  it('lists only its own workers, by tag and state, across pages', async () => {
    const fake = await startFakeEc2({ pageSize: 2 });
    try {
      const cfg = fleetConfig({ endpoint: fake.endpoint });
      const fleet = fleetOf(cfg);
      const other = fleetOf(cfg, { pipeline: { bucket: 'books-test', queuePrefix: 'other' } });
      const mine = await fleet.start(3);
      await other.start(1);
      fake.addForeign();
      fake.addForeign({ 'bookpipeline:role': 'worker' }); // a worker of no pipeline
      expect((await fleet.list()).map((i) => i.id).sort()).toEqual(mine.map((i) => i.id).sort());
      fake.advance();
      const listed = await fleet.list();
      expect(listed.map((i) => i.state)).toEqual(['running', 'running', 'running']);
      expect(listed[0]!.publicIp).toMatch(/^203\.0\.113\./);
      expect(listed[0]!.privateIp).toMatch(/^172\.31\./);
      const describes = fake.calls('DescribeInstances');
      expect(describes.length).toBeGreaterThanOrEqual(4); // 2 instances per page
      expect(describes[0]).toMatchObject({
        'Filter.1.Name': 'tag:bookpipeline:role',
        'Filter.1.Value.1': 'worker',
        'Filter.2.Name': 'tag:bookpipeline:pipeline',
        'Filter.2.Value.1': 'books-test/tst',
        'Filter.3.Name': 'instance-state-name',
        'Filter.3.Value.1': 'pending',
        'Filter.3.Value.2': 'running',
      });
      await fleet.terminate([mine[0]!.id]);
      expect(await fleet.list()).toHaveLength(2);
      expect(await fleet.list({ states: ['shutting-down'] })).toHaveLength(1);
      expect(fake.rejected).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('terminates its workers and refuses instances that are not its own, touching nothing', async () => {
    const fleet = fleetOf(fleetConfig());
    const [a, b] = await fleet.start(2);
    const foreign = ec2.addForeign();
    await expect(fleet.terminate([a!.id, foreign.id])).rejects.toThrow(FleetRefusedError);
    await expect(fleet.terminate([a!.id, 'i-00000000000000000'])).rejects.toThrow(/not workers of pipeline books-test\/tst.*i-00000000000000000/);
    expect(ec2.calls('TerminateInstances')).toHaveLength(0);
    expect(foreign.state).toBe('running');
    await fleet.terminate([a!.id, b!.id]);
    expect(ec2.calls('TerminateInstances')[0]).toMatchObject({ 'InstanceId.1': a!.id, 'InstanceId.2': b!.id });
    expect(ec2.instances.get(a!.id)!.state).toBe('shutting-down');
    ec2.advance();
    expect(await fleet.list()).toEqual([]);
    expect((await fleet.list({ states: ['terminated'] })).map((i) => i.id).sort()).toEqual([a!.id, b!.id].sort());
  });

  it('retries RequestLimitExceeded with backoff, with the same ClientToken (nothing started twice)', async () => {
    const waits: number[] = [];
    const fleet = fleetOf(fleetConfig(), { sleep: async (ms) => void waits.push(ms) });
    ec2.inject({ action: 'RunInstances', code: 'RequestLimitExceeded', message: 'Request limit exceeded.', times: 2 });
    ec2.inject({ action: 'DescribeInstances', code: 'RequestLimitExceeded', times: 1 });
    const started = await fleet.start(2);
    expect(started).toHaveLength(2);
    const runs = ec2.calls('RunInstances');
    expect(runs).toHaveLength(3);
    expect(new Set(runs.map((r) => r.ClientToken)).size).toBe(1);
    expect(waits).toHaveLength(2);
    expect(await fleet.list()).toHaveLength(2);
    expect(waits).toHaveLength(3);
    expect(ec2.instances.size).toBe(2);
  });

  it('a retried RunInstances whose first answer was lost starts nothing new (ClientToken)', async () => {
    const fleet = fleetOf(fleetConfig());
    // EC2 starts the instances, but the answer is lost: the caller sees a 503 and retries.
    ec2.inject({ action: 'RunInstances', code: 'ServiceUnavailable', afterEffect: true });
    const started = await fleet.start(2);
    const runs = ec2.calls('RunInstances');
    expect(runs).toHaveLength(2);
    expect(runs[1]!.ClientToken).toBe(runs[0]!.ClientToken);
    expect(ec2.instances.size).toBe(2);
    expect(started.map((i) => i.id).sort()).toEqual([...ec2.instances.keys()].sort());
  });

  it('gives up on RequestLimitExceeded after the last attempt with a transient error', async () => {
    const fleet = fleetOf(fleetConfig(), { retry: { attempts: 3, baseMs: 1, maxMs: 2 } });
    ec2.inject({ action: 'DescribeInstances', code: 'RequestLimitExceeded', times: Infinity });
    await expect(fleet.list()).rejects.toThrow(/DescribeInstances: RequestLimitExceeded/);
    expect(ec2.calls('DescribeInstances')).toHaveLength(3);
  });

  it('InsufficientInstanceCapacity: tries the next instance type and subnet, then fails saying what to change', async () => {
    const fleet = fleetOf(fleetConfig({ instanceTypes: ['m5.large', 'm6i.large'], subnetIds: ['subnet-0aaaa1111', 'subnet-0cccc3333'] }));
    ec2.capacity.set('m5.large', 0);
    const got = await fleet.start(2);
    expect(got.map((i) => i.type)).toEqual(['m6i.large', 'm6i.large']);
    const tried = ec2.calls('RunInstances').map((p) => `${p.InstanceType} ${p.SubnetId}`);
    expect(tried).toEqual(['m5.large subnet-0aaaa1111', 'm5.large subnet-0cccc3333', 'm6i.large subnet-0aaaa1111']);

    ec2.capacity.set('m6i.large', 0);
    const err = await fleet.start(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetCapacityError);
    expect((err as Error).message).toMatch(/could not start any worker: .*InsufficientInstanceCapacity/);
    expect((err as Error).message).toMatch(/fleet\.instanceTypes.*fleet\.subnetIds/);
  });

  it('partial capacity: starts what it can (fewer than asked), then the rest elsewhere', async () => {
    const fleet = fleetOf(fleetConfig({ instanceTypes: ['m5.large', 'c5.large'], subnetIds: [] }));
    ec2.capacity.set('m5.large', 1);
    const got = await fleet.start(3);
    expect(got.map((i) => i.type)).toEqual(['m5.large', 'c5.large', 'c5.large']);
    ec2.capacity.set('c5.large', 0);
    ec2.capacity.set('m5.large', 1);
    expect(await fleet.start(3)).toHaveLength(1);
  });

  it('SpotMaxPriceTooLow: a clear error naming fleet.maxPrice (after trying the other types)', async () => {
    const fleet = fleetOf(fleetConfig({ instanceTypes: ['m5.large', 'm6i.large'], maxPrice: '0.01' }));
    ec2.spotPrice.set('m5.large', 0.035);
    ec2.spotPrice.set('m6i.large', 0.04);
    const err = await fleet.start(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpotPriceTooLowError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/spot price is above fleet\.maxPrice 0\.01/);
    expect((err as Error).message).toMatch(/raise fleet\.maxPrice \(--max-price\), or remove it/);
    expect(ec2.calls('RunInstances')).toHaveLength(2);
    // A cheaper type among them is used.
    ec2.spotPrice.set('m6i.large', 0.009);
    expect((await fleet.start(1))[0]!.type).toBe('m6i.large');
  });

  it('settings errors say what to change and are not retried', async () => {
    const fleet = fleetOf(fleetConfig({ instanceTypes: ['m5.large', 'c5.large'] }));
    ec2.inject({ action: 'RunInstances', code: 'InvalidAMIID.NotFound', message: "The image id '[ami-0123456789abcdef0]' does not exist" });
    await expect(fleet.start(1)).rejects.toThrow(/InvalidAMIID\.NotFound.*fleet\.imageId does not exist/);
    expect(ec2.calls('RunInstances')).toHaveLength(1);
    ec2.inject({ action: 'RunInstances', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 });
    const err = await fleet.start(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/launcher\.json/);
    ec2.inject({ action: 'RunInstances', code: 'VcpuLimitExceeded', message: 'You have requested more vCPU capacity than your current vCPU limit of 0 allows.' });
    await expect(fleet.start(1)).rejects.toThrow(/Service Quotas/);
  });

  it('check(): a DryRun RunInstances that starts nothing', async () => {
    const fleet = fleetOf(fleetConfig());
    await fleet.check();
    expect(ec2.calls('RunInstances')[0]!.DryRun).toBe('true');
    expect(ec2.instances.size).toBe(0);
    ec2.inject({ action: 'RunInstances', code: 'UnauthorizedOperation', status: 403 });
    await expect(fleet.check()).rejects.toThrow(ConfigError);
  });

  it('describeStart(): the requests, first choice first, as plain JSON', () => {
    const fleet = fleetOf(fleetConfig({ instanceTypes: ['m5.large', 'c5.large'] }));
    const reqs = fleet.describeStart(4);
    expect(reqs.map((r) => r.InstanceType)).toEqual(['m5.large', 'c5.large']);
    expect(reqs[0]).toMatchObject({ MinCount: 1, MaxCount: 4, InstanceMarketOptions: { MarketType: 'spot' } });
    expect(ec2.requests).toHaveLength(0);
  });

  it('the fake rejects what it does not model, loudly', async () => {
    const res = await fetch(ec2.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=RequestSpotInstances&Version=2016-11-15',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<Code>InvalidAction<\/Code>/);
    expect(ec2.rejected).toHaveLength(1);
    ec2.rejected.length = 0;
  });
});

describe('classifyAwsError: EC2 errors', () => {
  const err = (name: string, status: number) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
  it('maps capacity, price, throttling and settings errors', () => {
    expect(classifyAwsError(err('InsufficientInstanceCapacity', 500))).toBeInstanceOf(FleetCapacityError);
    expect(classifyAwsError(err('InsufficientInstanceCapacity', 500))).toBeInstanceOf(TransientError);
    expect(classifyAwsError(err('SpotMaxPriceTooLow', 400))).toBeInstanceOf(SpotPriceTooLowError);
    expect(classifyAwsError(err('RequestLimitExceeded', 503))).toBeInstanceOf(TransientError);
    expect(classifyAwsError(err('RequestLimitExceeded', 503))).not.toBeInstanceOf(FleetCapacityError);
    for (const n of ['InvalidSubnetID.NotFound', 'InvalidAMIID.Malformed', 'InvalidGroup.NotFound', 'VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded', 'UnauthorizedOperation']) {
      expect(classifyAwsError(err(n, 400)), n).toBeInstanceOf(ConfigError);
    }
    // EC2's InvalidParameterValue is a settings problem; SQS's keeps its heartbeat meaning.
    expect(classifyAwsError(err('InvalidParameterValue', 400), { service: 'ec2' })).toBeInstanceOf(ConfigError);
    const sqs = classifyAwsError(err('InvalidParameterValue', 400));
    expect(sqs).toBeInstanceOf(PermanentError);
    expect(sqs).not.toBeInstanceOf(ConfigError);
  });
});
