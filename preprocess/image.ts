/**
 * The one pixel-buffer type of the preprocessing code: an 8-bit greyscale image, one byte per pixel,
 * row-major, no padding (`data.length === width * height`). Binarised images use only 0 (ink) and
 * 255 (paper).
 */
export interface Grey {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A new image of the given size, every pixel set to `fill` (default 255, white). */
export function makeGrey(width: number, height: number, fill = 255): Grey {
  checkSize(width, height);
  const data = new Uint8Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}

/** Wraps existing bytes (not copied) after checking that they match the size. */
export function greyFrom(width: number, height: number, data: Uint8Array): Grey {
  checkSize(width, height);
  if (data.length !== width * height) {
    throw new RangeError(`pixel buffer has ${data.length} bytes, expected ${width}x${height} = ${width * height}`);
  }
  return { width, height, data };
}

/** A deep copy. */
export function cloneGrey(img: Grey): Grey {
  return { width: img.width, height: img.height, data: img.data.slice() };
}

/** Swaps rows and columns: pixel (x, y) of the input is pixel (y, x) of the output. */
export function transpose(img: Grey): Grey {
  const { width: w, height: h, data: src } = img;
  const dst = new Uint8Array(w * h);
  // blocked to stay cache friendly on page-sized images
  const B = 64;
  for (let by = 0; by < h; by += B) {
    const yEnd = by + B < h ? by + B : h;
    for (let bx = 0; bx < w; bx += B) {
      const xEnd = bx + B < w ? bx + B : w;
      for (let y = by; y < yEnd; y++) {
        let s = y * w + bx;
        let d = bx * h + y;
        for (let x = bx; x < xEnd; x++) {
          dst[d] = src[s];
          s++;
          d += h;
        }
      }
    }
  }
  return { width: h, height: w, data: dst };
}

/** Number of pixels that differ between two images of the same size. */
export function countDifferentPixels(a: Grey, b: Grey): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`size mismatch: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  const da = a.data;
  const db = b.data;
  let n = 0;
  for (let i = 0; i < da.length; i++) if (da[i] !== db[i]) n++;
  return n;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`invalid image size ${width}x${height}`);
  }
}
