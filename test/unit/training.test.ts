import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableTrainings, embeddedTrainings, resolveTraining, TrainingError } from '../../ocr/training.js';

const sys = mkdtempSync(join(tmpdir(), 'tessdata-'));
writeFileSync(join(sys, 'fra.traineddata'), 'x');
writeFileSync(join(sys, 'eng.traineddata'), 'x');
writeFileSync(join(sys, 'osd.traineddata'), 'x');

describe('training lookup', () => {
  it('finds the embedded English model shipped in @tesseract.js-data/eng', () => {
    const eng = embeddedTrainings().find((t) => t.code === 'eng');
    expect(eng?.path).toMatch(/@tesseract\.js-data\/eng\/4\.0\.0_best_int\/eng\.traineddata\.gz$/);
  });

  it('prefers the engine\'s own source and mixes sources for eng+fra', () => {
    const t = resolveTraining('eng+fra', { prefer: 'embedded', systemDirs: [sys] });
    expect(t.lang).toBe('eng+fra');
    expect(t.files.map((f) => f.source)).toEqual(['embedded', 'system']);
    const s = resolveTraining('eng', { prefer: 'system', systemDirs: [sys] });
    expect(s.files[0]!.path).toBe(join(sys, 'eng.traineddata'));
  });

  it('takes a path to a .traineddata file', () => {
    const p = join(sys, 'fra.traineddata');
    const t = resolveTraining(p, { prefer: 'embedded', systemDirs: [] });
    expect(t).toMatchObject({ lang: 'fra', files: [{ code: 'fra', source: 'file', path: p }] });
    expect(() => resolveTraining('/no/such/x.traineddata', { prefer: 'embedded', systemDirs: [] })).toThrow(/training file \/no\/such\/x\.traineddata does not exist/);
  });

  it('names what is available when a training is unknown (osd is not a language)', () => {
    expect(availableTrainings([sys])).toEqual(['eng', 'fra']);
    let err: unknown;
    try {
      resolveTraining('eng+klingon', { prefer: 'embedded', systemDirs: [sys] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as Error).message).toBe('unknown training "klingon"; available: eng, fra (or give a path to a .traineddata file)');
    expect(() => resolveTraining('e n g', { prefer: 'embedded', systemDirs: [] })).toThrow(/not a valid language code/);
  });
});
