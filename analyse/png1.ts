// 1-bit greyscale PNGs for the PDF writer: the smallest lossless form of a bilevel page, which
// pdfkit embeds as-is (1 bit per component). One encoder serves the pipeline: preprocess/codec.ts.
import { encodePng1 as encodeBilevel } from '../preprocess/codec.js';

/**
 * Encodes one-channel 8-bit pixels (row-major, `width × height` bytes) as a 1-bit greyscale PNG:
 * values ≥ 128 become white (1), the rest black (0).
 */
export function encodePng1(grey: Uint8Array, width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`bad PNG size ${width}×${height}`);
  }
  if (grey.length !== width * height) {
    throw new RangeError(`expected ${width * height} pixels, got ${grey.length}`);
  }
  return encodeBilevel({ width, height, data: grey });
}
