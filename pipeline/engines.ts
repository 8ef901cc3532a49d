// OCR engines of a worker, one per training, made on first use and kept until the worker stops.

import type { OcrEngine } from '../ocr/engine.js';
import { TrainingError } from '../ocr/training.js';
import { PermanentError } from './errors.js';

export class EngineCache {
  private readonly engines = new Map<string, Promise<OcrEngine>>();

  constructor(private readonly make: (training: string) => Promise<OcrEngine>) {}

  /**
   * The engine for `training`. A training a message asks for that this worker does not have is a
   * PermanentError (the message can never succeed here).
   */
  get(training: string): Promise<OcrEngine> {
    let e = this.engines.get(training);
    if (!e) {
      e = this.make(training).catch((err: unknown) => {
        this.engines.delete(training);
        if (err instanceof TrainingError) throw new PermanentError(`training ${training}: ${err.message}`, { cause: err });
        throw err;
      });
      this.engines.set(training, e);
    }
    return e;
  }

  /** Closes every engine; safe to call twice. */
  async close(): Promise<void> {
    const all = [...this.engines.values()];
    this.engines.clear();
    await Promise.all(all.map((p) => p.then((e) => e.close()).catch(() => undefined)));
  }
}
