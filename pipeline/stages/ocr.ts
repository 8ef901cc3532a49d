import type { OcrEngine } from '../../ocr/engine.js';
import { keys } from '../book.js';
import type { StageStore } from './store.js';

/** OCR of one variant image: `<variant>.png` in, `<variant>.hocr` out. */
export async function ocrVariant(
  store: StageStore,
  engine: OcrEngine,
  variantKey: string,
  opts: { dpi?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const image = await store.get(variantKey);
  const name = variantKey.slice(variantKey.lastIndexOf('/') + 1);
  const { hocr } = await engine.recognize({ image, name, dpi: opts.dpi }, opts.signal);
  const hocrKey = keys.hocrOf(variantKey);
  await store.put(hocrKey, hocr);
  return hocrKey;
}
