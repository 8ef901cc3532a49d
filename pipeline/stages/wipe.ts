import { decodeGrey, encodeGreyPng } from '../../preprocess/codec.js';
import { wipeOnly } from '../../preprocess/index.js';
import { keys } from '../book.js';
import { effectiveDpi, type PageMeta } from './preprocess.js';
import type { StageStore } from './store.js';

/**
 * The wipe-only queue for one page (spec §6.1 `WipeFile`): an already binarised page, not
 * binarised again, wiped (gutters and edges) and stored as the single variant `<page>_bin0.0.png`
 * (8-bit greyscale), with the page's meta beside it. Returns the meta.
 */
export async function wipePage(
  store: StageStore,
  book: string,
  page: string,
  originalKey: string,
  opts: { maxPixels: number },
): Promise<PageMeta> {
  const bytes = await store.get(originalKey);
  const { img, dpi } = await decodeGrey(bytes, { maxPixels: opts.maxPixels });
  const wiped = wipeOnly(img);
  const key = keys.variant(book, page, 0);
  await store.put(key, await encodeGreyPng(wiped, effectiveDpi(img.width, img.height, dpi ?? null)));
  const meta: PageMeta = {
    page,
    original: originalKey,
    width: img.width,
    height: img.height,
    dpi: dpi ?? null,
    angle: 0,
    denoised: false,
    variants: [key],
  };
  await store.put(keys.meta(book, page), JSON.stringify(meta));
  return meta;
}
