import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

/** One language model file. */
export interface TrainingFile {
  code: string;
  path: string;
  source: 'embedded' | 'system' | 'file';
  gzip: boolean;
}

/** A training as asked for (`eng`, `eng+fra`, `/path/x.traineddata`), resolved to files. */
export interface Training {
  spec: string;
  /** The language string tesseract is given, e.g. `eng+fra`. */
  lang: string;
  files: TrainingFile[];
}

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

export const DEFAULT_SYSTEM_TESSDATA = [
  '/usr/share/tesseract-ocr/5/tessdata',
  '/usr/share/tesseract-ocr/4.00/tessdata',
  '/usr/local/share/tessdata',
  '/usr/share/tessdata',
];

const require = createRequire(import.meta.url);

/** Language data shipped in npm packages `@tesseract.js-data/<code>` (LSTM-only best_int models). */
export function embeddedTrainings(): TrainingFile[] {
  let scope: string;
  try {
    scope = dirname(dirname(require.resolve('@tesseract.js-data/eng/package.json')));
  } catch {
    return [];
  }
  const out: TrainingFile[] = [];
  for (const code of readdirSync(scope).sort()) {
    for (const sub of ['4.0.0_best_int', '4.0.0']) {
      const p = join(scope, code, sub, `${code}.traineddata.gz`);
      if (existsSync(p)) {
        out.push({ code, path: p, source: 'embedded', gzip: true });
        break;
      }
    }
  }
  return out;
}

export function systemTrainings(dirs: readonly string[]): TrainingFile[] {
  const out: TrainingFile[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      if (!n.endsWith('.traineddata')) continue;
      const code = n.slice(0, -'.traineddata'.length);
      if (code === 'osd' || seen.has(code)) continue;
      seen.add(code);
      out.push({ code, path: join(dir, n), source: 'system', gzip: false });
    }
  }
  return out;
}

function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || /\.traineddata(\.gz)?$/.test(spec);
}

/**
 * Resolves `-t`: a path to a .traineddata file, or language codes joined by `+`, looked up in the
 * embedded data and the system tessdata folders. The engine decides which source it prefers.
 */
export function resolveTraining(
  spec: string,
  opts: { prefer: 'embedded' | 'system'; systemDirs: readonly string[] },
): Training {
  const wanted = spec.trim();
  if (!wanted) throw new TrainingError('training name is empty');
  if (looksLikePath(wanted)) {
    if (!existsSync(wanted) || !statSync(wanted).isFile()) {
      throw new TrainingError(`training file ${wanted} does not exist`);
    }
    const code = basename(wanted).replace(/\.traineddata(\.gz)?$/, '');
    return { spec: wanted, lang: code, files: [{ code, path: wanted, source: 'file', gzip: wanted.endsWith('.gz') }] };
  }
  const embedded = embeddedTrainings();
  const system = systemTrainings(opts.systemDirs);
  const order = opts.prefer === 'embedded' ? [embedded, system] : [system, embedded];
  const files: TrainingFile[] = [];
  const missing: string[] = [];
  for (const code of wanted.split('+')) {
    if (!/^[A-Za-z0-9_.-]+$/.test(code)) throw new TrainingError(`training name "${code}" is not a valid language code`);
    const f = order[0]!.find((t) => t.code === code) ?? order[1]!.find((t) => t.code === code);
    if (f) files.push(f);
    else missing.push(code);
  }
  if (missing.length) {
    const avail = availableTrainings(opts.systemDirs);
    throw new TrainingError(
      `unknown training ${missing.map((m) => `"${m}"`).join(', ')}; available: ${avail.length ? avail.join(', ') : 'none'} (or give a path to a .traineddata file)`,
    );
  }
  return { spec: wanted, lang: files.map((f) => f.code).join('+'), files };
}

export function availableTrainings(systemDirs: readonly string[]): string[] {
  const codes = new Set<string>();
  for (const t of embeddedTrainings()) codes.add(t.code);
  for (const t of systemTrainings(systemDirs)) codes.add(t.code);
  return [...codes].sort();
}
