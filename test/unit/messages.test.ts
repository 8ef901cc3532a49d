import { describe, expect, it } from 'vitest';
import { BadMessageError, formatMessage, parseMessage, type Job, type QueueKind } from '../../pipeline/messages.js';

const jobsByQueue: Array<[QueueKind, Job]> = [
  ['preprocess', { type: 'book', book: 'Book1' }],
  ['prenowipe', { type: 'book', book: 'Kestrel_Bay', training: 'rescribev9' }],
  ['wipeonly', { type: 'book', book: 'b', training: 'eng+fra' }],
  ['ocrpage', { type: 'ocr', book: 'Book1', variant: 'page_0001_bin0.2.png' }],
  ['ocrpage', { type: 'ocr', book: 'Book1', variant: 'page_0001_bin0.0.png', training: 'lat' }],
  ['analyse', { type: 'analyse', book: 'Book1' }],
];
const retryJob: Job = { type: 'book', book: 'Book1', pages: ['page_0003', 'p 7'] };

describe('messages: both formats, both ways', () => {
  it.each(jobsByQueue)('JSON round trip on %s', (queue, job) => {
    const body = formatMessage(job);
    expect(JSON.parse(body)).toMatchObject({ v: 1, type: job.type });
    expect(parseMessage(queue, body)).toEqual(job);
  });

  it.each(jobsByQueue)('Go text round trip on %s', (queue, job) => {
    const body = formatMessage(job, { compat: true });
    expect(body.startsWith('{')).toBe(false);
    expect(parseMessage(queue, body)).toEqual(job);
  });

  it("writes the Go original's exact text", () => {
    expect(formatMessage({ type: 'book', book: 'B' }, { compat: true })).toBe('B');
    expect(formatMessage({ type: 'book', book: 'B', training: 'rescribev9' }, { compat: true })).toBe('B rescribev9');
    // The original always puts a space after the key of an OCR message.
    expect(formatMessage({ type: 'ocr', book: 'B', variant: 'p_0001_bin0.2.png' }, { compat: true })).toBe('B/p_0001_bin0.2.png ');
    expect(formatMessage({ type: 'ocr', book: 'B', variant: 'p_0001_bin0.2.png', training: 'lat' }, { compat: true })).toBe(
      'B/p_0001_bin0.2.png lat',
    );
    expect(formatMessage({ type: 'analyse', book: 'B' }, { compat: true })).toBe('B');
  });

  it('reads bodies written by the Go original', () => {
    expect(parseMessage('preprocess', 'Book1')).toEqual({ type: 'book', book: 'Book1' });
    expect(parseMessage('preprocess', 'Book1 rescribelatv7')).toEqual({ type: 'book', book: 'Book1', training: 'rescribelatv7' });
    expect(parseMessage('ocrpage', 'Book1/p_0003_bin0.4.png ')).toEqual({ type: 'ocr', book: 'Book1', variant: 'p_0003_bin0.4.png' });
    expect(parseMessage('ocrpage', 'Book1/p_0003_bin0.4.png rescribev9')).toEqual({
      type: 'ocr',
      book: 'Book1',
      variant: 'p_0003_bin0.4.png',
      training: 'rescribev9',
    });
    expect(parseMessage('analyse', 'Book1\n')).toEqual({ type: 'analyse', book: 'Book1' });
  });

  it("keeps a page retry's page list, in JSON even with compat (the text format has no room for it)", () => {
    expect(parseMessage('preprocess', formatMessage(retryJob))).toEqual(retryJob);
    expect(parseMessage('preprocess', formatMessage(retryJob, { compat: true }))).toEqual(retryJob);
  });

  it('keeps the analyse deferral counter in JSON', () => {
    const job: Job = { type: 'analyse', book: 'B', stalled: 2 };
    expect(parseMessage('analyse', formatMessage(job))).toEqual(job);
  });
});

describe('messages: rejects', () => {
  const bad: Array<[QueueKind, string, RegExp]> = [
    ['preprocess', '{not json', /not valid JSON/],
    ['preprocess', '{"v":1,"type":"book"}', /book/],
    ['preprocess', '{"v":2,"type":"book","book":"B"}', /v/],
    ['preprocess', '{"v":1,"type":"book","book":7}', /book/],
    ['preprocess', '{"v":1,"type":"book","book":"B","extra":1}', /extra|Unrecognized/i],
    ['preprocess', '{"v":1,"type":"book","book":"B","training":42}', /training/],
    ['preprocess', '{"v":1,"type":"ocr","book":"B","variant":"p_0001_bin0.2.png"}', /does not belong/],
    ['analyse', '{"v":1,"type":"book","book":"B"}', /does not belong/],
    ['analyse', '{"v":1,"type":"analyse","book":"B","stalled":-1}', /stalled/],
    ['preprocess', '{"v":1,"type":"book","book":"B","pages":[]}', /pages/],
    ['preprocess', '{"v":1,"type":"book","book":"B","pages":["../x"]}', /page must be a page name/],
    ['preprocess', '{"v":1,"type":"book","book":"B","pages":[".hidden"]}', /page must be a page name/],
    ['preprocess', '{"v":1,"type":"book","book":"B","pages":"p_0001"}', /pages/],
    ['preprocess', '{"v":1}', /type/],
    ['preprocess', '', /book name is empty/],
    ['preprocess', '..', /\.\./],
    ['preprocess', '../etc', /slash|\.\./],
    ['preprocess', '/etc/passwd', /slash/],
    ['preprocess', '.hidden', /dot/],
    ['preprocess', 'a b c', /too many spaces/],
    ['preprocess', 'B bad/training', /training/],
    ['preprocess', 'B\u0000x', /NUL/],
    ['preprocess', `{"v":1,"type":"book","book":"B\\u0000"}`, /control/],
    ['preprocess', 'x'.repeat(5000), /over 4096/],
    ['ocrpage', 'Book1', /expected <book>\/<file>/],
    ['ocrpage', 'Book1/../x_bin0.2.png ', /variant/],
    ['ocrpage', 'Book1/sub/p_0001_bin0.2.png ', /variant/],
    ['ocrpage', 'Book1/p_0001.jpg ', /variant/],
    ['ocrpage', '/abs/p_0001_bin0.2.png ', /book name/],
    ['ocrpage', '{"v":1,"type":"ocr","book":"B","variant":"/etc/p_bin0.2.png"}', /variant/],
    ['ocrpage', '{"v":1,"type":"ocr","book":"B","variant":"..\\\\p_bin0.2.png"}', /variant/],
  ];
  it.each(bad.map(([q, b, w]) => [q, b.length > 60 ? `${b.slice(0, 20)}… (${b.length} chars)` : b, b, w] as const))('%s %j', (queue, _title, body, why) => {
    let err: unknown;
    try {
      parseMessage(queue, body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadMessageError);
    expect((err as Error).message).toMatch(why);
    // One line, and the body is quoted short.
    expect((err as Error).message).not.toMatch(/\n/);
    expect((err as Error).message.length).toBeLessThan(400);
  });
});
