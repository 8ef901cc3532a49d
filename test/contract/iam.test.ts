// The IAM policies (infra/iam/*.json through pipeline/iam.ts): filled in, scoped to the bucket
// and the queue prefix, and covering every EC2 action the fleet adapter really sends (seen by the
// fake EC2).

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Fleet } from '../../pipeline/aws/ec2.js';
import { buildFleetConfig } from '../../pipeline/fleet-config.js';
import { iamPolicies, iamPolicy, IAM_POLICY_NAMES } from '../../pipeline/iam.js';
import { startFakeEc2, type FakeEc2 } from '../support/fake-ec2.js';
import { TEST_CREDENTIALS } from '../support/fauxqs.js';

interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const vars = { region: 'eu-west-2', account: '123456789012', bucket: 'mybooks', queuePrefix: 'ocr', workerRole: 'bookpipeline-worker' };
const all = iamPolicies(vars) as unknown as Record<string, Policy>;
const arr = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const allowed = (p: Policy): string[] => p.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => arr(s.Action));

let ec2: FakeEc2;
beforeAll(async () => {
  ec2 = await startFakeEc2();
});
afterAll(async () => {
  await ec2.close();
});

describe('IAM policies', () => {
  it('are complete policy documents with every placeholder filled in', () => {
    expect(Object.keys(all)).toEqual([...IAM_POLICY_NAMES]);
    for (const [name, p] of Object.entries(all)) {
      expect(p.Version, name).toBe('2012-10-17');
      expect(JSON.stringify(p), name).not.toMatch(/\{\{\w*\}\}/);
      expect(new Set(p.Statement.map((s) => s.Sid)).size, name).toBe(p.Statement.length);
    }
    expect(all['worker-trust']!.Statement[0]).toMatchObject({ Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' });
    expect(() => iamPolicy('worker', { ...vars, account: '12' })).toThrow(/12 digits/);
    expect(JSON.stringify(iamPolicy('worker', { ...vars, account: '*' }))).toContain('arn:aws:sqs:eu-west-2:*:ocr*');
  });

  it('keep every role to this bucket and these queues', () => {
    for (const name of ['worker', 'uploader', 'monitor', 'launcher']) {
      for (const s of all[name]!.Statement) {
        for (const r of arr(s.Resource)) {
          if (r.startsWith('arn:aws:s3')) expect(r, name).toMatch(/^arn:aws:s3:::mybooks(\/.*)?$/);
          if (r.startsWith('arn:aws:sqs')) expect(r, name).toMatch(/^arn:aws:sqs:eu-west-2:123456789012:ocr/);
        }
        // No wildcard actions.
        for (const a of arr(s.Action)) expect(a, name).not.toMatch(/\*/);
      }
    }
  });

  it('worker: its queues and bucket, no EC2 or IAM, never the worker code', () => {
    const w = all.worker!;
    expect(allowed(w).sort()).toEqual(
      [
        'sqs:GetQueueUrl',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:SendMessage',
        's3:ListBucket',
        's3:GetObject',
        's3:PutObject',
        's3:AbortMultipartUpload',
      ].sort(),
    );
    expect(w.Statement.find((s) => s.Effect === 'Deny')).toMatchObject({ Resource: 'arn:aws:s3:::mybooks/dist/*' });
  });

  it('uploader: only the entry queues; cannot touch dist/ or logs/; monitor reads only', () => {
    const u = all.uploader!;
    const queues = u.Statement.filter((s) => arr(s.Action).includes('sqs:SendMessage')).flatMap((s) => arr(s.Resource));
    expect(queues.map((q) => q.split(':').pop())).toEqual(['ocrpreprocess', 'ocrprenowipe', 'ocrwipeonly']);
    expect(u.Statement.find((s) => s.Effect === 'Deny')!.Resource).toEqual(['arn:aws:s3:::mybooks/dist/*', 'arn:aws:s3:::mybooks/logs/*']);
    expect(allowed(u)).not.toContain('s3:DeleteObject');
    expect(allowed(all.monitor!).sort()).toEqual(['ec2:DescribeInstances', 's3:GetObject', 's3:ListBucket', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']);
  });

  it('launcher: allows every EC2 call the fleet adapter makes, only for tagged workers', async () => {
    const fleetCfg = buildFleetConfig(vars, { ec2Endpoint: ec2.endpoint }, {}, { fleet: { subnetIds: ['subnet-0aaaa1111'], keyName: 'k' } });
    const fleet = new Ec2Fleet({ fleet: fleetCfg, pipeline: vars, userData: '#!/bin/sh\n', credentials: { ...TEST_CREDENTIALS }, log: pino({ level: 'silent' }) });
    await fleet.check();
    await fleet.start(1);
    await fleet.list();
    fleet.destroy();
    const used = [...new Set(ec2.requests.map((r) => `ec2:${r.action}`))];
    // RunInstances with TagSpecifications needs CreateTags as well.
    const needed = [...used, ...(ec2.calls('RunInstances').some((p) => p['TagSpecification.1.ResourceType']) ? ['ec2:CreateTags'] : [])];
    const l = all.launcher!;
    for (const a of needed) expect(allowed(l), a).toContain(a);
    expect(allowed(all.monitor!)).toContain('ec2:DescribeInstances');
    const run = l.Statement.find((s) => s.Sid === 'LaunchOnlyTaggedWorkers')!;
    expect(run.Condition).toEqual({ StringEquals: { 'aws:RequestTag/bookpipeline:role': 'worker' } });
    const tag = l.Statement.find((s) => arr(s.Action).includes('ec2:CreateTags'))!;
    expect(tag.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
    const pass = l.Statement.find((s) => arr(s.Action).includes('iam:PassRole'))!;
    expect(pass.Resource).toBe('arn:aws:iam::123456789012:role/bookpipeline-worker');
    expect(allowed(l)).not.toContain('ec2:TerminateInstances');
  });
});
