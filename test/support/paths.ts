import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

/** The read-only shared folder beside the checkout (samples, spec); CI lays a copy there too. */
export const SHARED = process.env.BOOKPIPELINE_SHARED ?? join(ROOT, '..', 'shared');
export const SAMPLES = join(SHARED, 'samples');
export const haveSamples = existsSync(join(SAMPLES, 'book', 'page1.jpg'));
