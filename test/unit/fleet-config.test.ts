// Fleet settings: defaults, validation, tags, and the user data filled in from the template.

import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../pipeline/errors.js';
import {
  buildFleetConfig,
  DEFAULT_IMAGE,
  loadUserData,
  renderUserData,
  shellQuote,
  USER_DATA_MARKER,
  workerTags,
} from '../../pipeline/fleet-config.js';

const pipeline = { region: 'eu-west-2', bucket: 'mybooks', queuePrefix: 'ocr', visibilitySeconds: 120, maxReceiveCount: 5 };

describe('buildFleetConfig', () => {
  it('has defaults that start a worker in a fresh account', () => {
    const f = buildFleetConfig(pipeline, {}, {}, {});
    expect(f).toMatchObject({
      region: 'eu-west-2',
      imageId: DEFAULT_IMAGE,
      instanceTypes: ['m5.large'],
      subnetIds: [],
      securityGroupIds: [],
      instanceProfile: 'bookpipeline-worker',
      projectSource: 's3://mybooks/dist/bookpipeline.tar.gz',
      autostopSeconds: 300,
      name: 'bookpipeline-worker',
    });
    expect(f.endpoint).toBeUndefined();
    expect(Object.isFrozen(f)).toBe(true);
  });

  it('flags > environment > config file', () => {
    const file = { fleet: { instanceTypes: ['c5.large'], maxPrice: '0.1', endpoint: 'http://file:1', imageId: 'ami-0aaaaaaaaaaaaaaaa' } };
    const f = buildFleetConfig(pipeline, { instanceType: 'm6i.large, m5.large', maxPrice: '0.05' }, { BOOKPIPELINE_EC2_ENDPOINT: 'http://env:2' }, file);
    expect(f.instanceTypes).toEqual(['m6i.large', 'm5.large']);
    expect(f.maxPrice).toBe('0.05');
    expect(f.endpoint).toBe('http://env:2');
    expect(f.imageId).toBe('ami-0aaaaaaaaaaaaaaaa');
  });

  it('rejects bad settings with the setting named', () => {
    const bad = (fleet: Record<string, unknown>) => () => buildFleetConfig(pipeline, {}, {}, { fleet });
    expect(bad({ imageId: 'debian' })).toThrow(/fleet\.imageId/);
    expect(bad({ subnetIds: ['net-1'] })).toThrow(/fleet\.subnetIds\.0/);
    expect(bad({ securityGroupIds: 'sg-1' })).toThrow(/fleet\.securityGroupIds/);
    expect(bad({ maxPrice: 'cheap' })).toThrow(/fleet\.maxPrice/);
    expect(bad({ tags: { 'bookpipeline:role': 'x' } })).toThrow(/reserved/);
    expect(bad({ tags: { Name: 'x' } })).toThrow(/fleet\.name/);
    expect(bad({ projectSource: 'ftp://x' })).toThrow(/fleet\.projectSource/);
    expect(bad({ workerArgs: '--x; rm -rf /' })).toThrow(/fleet\.workerArgs/);
    expect(bad({ instanceTypes: [] })).toThrow(ConfigError);
    expect(() => buildFleetConfig(pipeline, {}, {}, { fleet: [] })).toThrow(/"fleet" must be an object/);
  });

  it('tags: the user\'s, Name, and the two that mark our workers', () => {
    const f = buildFleetConfig(pipeline, {}, {}, { fleet: { tags: { cost: 'ocr' }, name: 'w' } });
    expect(workerTags(f, pipeline)).toEqual({ cost: 'ocr', Name: 'w', 'bookpipeline:role': 'worker', 'bookpipeline:pipeline': 'mybooks/ocr' });
  });
});

describe('user data', () => {
  it('replaces the marker line with quoted settings; a script without it is used as it is', () => {
    const t = `#!/bin/sh\n${USER_DATA_MARKER}\necho "$A"\n`;
    expect(renderUserData(t, { A: "it's $x" })).toBe(`#!/bin/sh\nA='it'\\''s $x'\necho "$A"\n`);
    expect(renderUserData('#!/bin/sh\necho mine\n', { A: 'b' })).toBe('#!/bin/sh\necho mine\n');
    expect(() => renderUserData(`#!/bin/sh\n${'#'.repeat(17_000)}\n`, {})).toThrow(/at most 16384/);
  });

  it('the quoting survives the shell', () => {
    const nasty = `a'b"c $HOME \`x\` \\ ;|&`;
    const r = spawnSync('sh', ['-c', `v=${shellQuote(nasty)}; printf '%s' "$v"`], { encoding: 'utf8' });
    expect(r.stdout).toBe(nasty);
  });

  it('infra/user-data.sh gets the pipeline settings and is a valid bash script', async () => {
    const f = buildFleetConfig(pipeline, {}, {}, { fleet: { workerArgs: '--engine system', autostopSeconds: 600 } });
    const ud = loadUserData(f, pipeline);
    expect(ud).toMatch(/^#!\/bin\/bash\n/);
    expect(ud).toContain("BOOKPIPELINE_REGION='eu-west-2'");
    expect(ud).toContain("BOOKPIPELINE_AUTOSTOP='600'");
    expect(ud).toContain("BOOKPIPELINE_ARGS='--engine system'");
    expect(ud).toContain(`BOOKPIPELINE_CONFIG_JSON='{"conn":"aws","region":"eu-west-2","bucket":"mybooks","queuePrefix":"ocr","visibilitySeconds":120,"maxReceiveCount":5}'`);
    expect(Buffer.byteLength(ud)).toBeLessThan(16_384);
    const dir = await mkdtemp(join(tmpdir(), 'bp-ud-'));
    await writeFile(join(dir, 'ud.sh'), ud);
    const check = spawnSync('bash', ['-n', join(dir, 'ud.sh')], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('a missing user data file is a settings error', () => {
    const f = buildFleetConfig(pipeline, {}, {}, { fleet: { userDataFile: '/nonexistent/ud.sh' } });
    expect(() => loadUserData(f, pipeline)).toThrow(/fleet\.userDataFile \/nonexistent\/ud\.sh/);
  });
});
