import { availableParallelism } from 'node:os';
import { z } from 'zod';

import { ConfigError } from './errors.js';

export { ConfigError };

export const DEFAULT_LOCAL_THRESHOLDS = [0.1, 0.2, 0.3] as const;

/** Parses `0.1,0.2,0.3`. */
export function parseThresholds(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  const ks = parts.map(Number);
  if (!ks.length || ks.some((k) => !Number.isFinite(k) || k <= 0 || k >= 1)) {
    throw new ConfigError(`--thresholds "${s}": expected Sauvola k values between 0 and 1, e.g. 0.1,0.2,0.3`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

const engineSchema = z.enum(['embedded', 'system']);

export const rescribeSchema = z.object({
  bookdir: z.string().min(1),
  savedir: z.string().min(1),
  training: z.string().min(1),
  engine: engineSchema,
  tesscmd: z.string().min(1),
  concurrency: z.number().int().min(1).max(64),
  thresholds: z.array(z.number().gt(0).lt(1)).min(1),
  wipe: z.boolean(),
  allVariants: z.boolean(),
  deskew: z.boolean(),
  denoise: z.enum(['auto', 'on', 'off']),
  maxPixels: z.number().int().min(1),
  recycleAfter: z.number().int().min(1),
  force: z.boolean(),
  verbose: z.boolean(),
  systemTessdata: z.array(z.string()),
});

export type RescribeConfig = Readonly<z.infer<typeof rescribeSchema>>;

/** Validates and freezes a config; the first problem becomes a one-line ConfigError. */
export function buildConfig<T extends z.ZodTypeAny>(schema: T, raw: unknown): Readonly<z.infer<T>> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  return Object.freeze(r.data) as Readonly<z.infer<T>>;
}

export function intOption(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} "${v}": expected a whole number`);
  return n;
}

export const defaultConcurrency = () => availableParallelism();
