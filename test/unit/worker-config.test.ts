import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../pipeline/errors.js';
import { buildWorkerConfig, parseQueueWeights } from '../../pipeline/worker-config.js';
import { pngDpi } from '../../pipeline/png-density.js';
import { encodePng1 } from '../../preprocess/codec.js';

describe('worker config', () => {
  it('parses --queues with weights', () => {
    expect(parseQueueWeights('ocrpage=3,preprocess=1')).toEqual([
      { kind: 'ocrpage', weight: 3 },
      { kind: 'preprocess', weight: 1 },
    ]);
    expect(parseQueueWeights(' analyse , ocrpage ')).toEqual([
      { kind: 'analyse', weight: 1 },
      { kind: 'ocrpage', weight: 1 },
    ]);
    for (const bad of ['', 'ocr', 'ocrpage=0', 'ocrpage=1.5', 'ocrpage=x', 'ocrpage,ocrpage', 'ocrpage=1=2']) {
      expect(() => parseQueueWeights(bad), bad).toThrow(ConfigError);
    }
  });

  it('has the defaults of the spec and the issue', () => {
    const c = buildWorkerConfig({ conn: 'local', localDir: '/tmp/x' }, {});
    expect(c.queues.map((q) => q.kind)).toEqual(['preprocess', 'prenowipe', 'wipeonly', 'ocrpage', 'analyse']);
    expect(c).toMatchObject({ visibilitySeconds: 120, heartbeatSeconds: 60, autostopSeconds: 300, graceSeconds: 60, training: 'eng' });
    expect(c.thresholds).toEqual([0.1, 0.2, 0.4, 0.5]);
    expect(c.pipeline).toMatchObject({ conn: 'local', maxReceiveCount: 5 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses a heartbeat that does not come before the visibility runs out, with a one-line ConfigError', () => {
    expect(() => buildWorkerConfig({ conn: 'local', heartbeat: 120 }, {})).toThrow(/--heartbeat 120: .*less than --visibility 120/);
    expect(() => buildWorkerConfig({ conn: 'local', visibility: 30, heartbeat: 45 }, {})).toThrow(ConfigError);
    expect(buildWorkerConfig({ conn: 'local', visibility: 30, heartbeat: 10 }, {})).toMatchObject({ visibilitySeconds: 30, heartbeatSeconds: 10 });
    expect(() => buildWorkerConfig({ conn: 'local', thresholds: '0,2' }, {})).toThrow(ConfigError);
    expect(() => buildWorkerConfig({ conn: 'local', engine: 'gpu' }, {})).toThrow(ConfigError);
  });
});

describe('pngDpi', () => {
  it('reads the resolution a variant records, and nothing from a PNG without one', () => {
    const img = { width: 8, height: 2, data: new Uint8Array(16).fill(255) };
    expect(Math.round(pngDpi(encodePng1(img, 300))!)).toBe(300);
    expect(Math.round(pngDpi(encodePng1(img, 72))!)).toBe(72);
    expect(pngDpi(encodePng1(img))).toBeUndefined();
    expect(pngDpi(Buffer.from('not a png'))).toBeUndefined();
  });
});
