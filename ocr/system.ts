import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { OcrError, type OcrEngine, type OcrInput, type OcrOutput } from './engine.js';
import type { Training } from './training.js';

export interface SystemOptions {
  /** The tesseract command. */
  command: string;
  /** Processes run at once. */
  processes: number;
}

/** Runs a command and collects its output; rejects with stdout/stderr in the message on failure. */
function run(cmd: string, args: string[], input: Buffer | null, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // the process may exit before reading all input
    child.on('close', (code, sig) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new OcrError(`${cmd} exited with ${code ?? sig}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.end(input ?? undefined);
  });
}

/** Checks the tesseract command runs; returns its version line. */
export async function systemTesseractVersion(command: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, ['--version'], null, process.env);
    return (stdout.toString() + stderr).split('\n')[0]!.trim();
  } catch (e) {
    throw new OcrError(`cannot run tesseract command "${command}": ${(e as Error).message}`);
  }
}

/**
 * The tesseract CLI, one thread per process (`OMP_THREAD_LIMIT=1`: unset, threads oversubscribe
 * and a page takes 5× longer), several processes in parallel. Invoked like the Go original:
 * `-l <training> -c tessedit_create_hocr=1 -c hocr_font_info=0`, no psm/oem.
 */
export class SystemEngine implements OcrEngine {
  readonly name = 'system' as const;
  private running = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly tessdataDir: string | null;
  private tempDir: string | null = null;

  constructor(
    private readonly training: Training,
    private readonly opts: SystemOptions,
  ) {
    const dirs = new Set(training.files.map((f) => dirname(f.path)));
    const plain = training.files.every((f) => !f.gzip && f.source !== 'file');
    if (plain && dirs.size === 1) {
      this.tessdataDir = [...dirs][0]!;
    } else {
      // Files from several places, a gzipped embedded model or a lone file: gather them in one folder.
      this.tempDir = mkdtempSync(join(tmpdir(), 'bookpipeline-tessdata-'));
      for (const f of training.files) {
        const dest = join(this.tempDir, `${f.code}.traineddata`);
        if (f.gzip) writeFileSync(dest, gunzipSync(readFileSync(f.path)));
        else copyFileSync(f.path, dest);
      }
      this.tessdataDir = this.tempDir;
    }
  }

  private async slot(): Promise<void> {
    if (this.running < Math.max(1, this.opts.processes)) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private free(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.running--;
  }

  async recognize(input: OcrInput, signal?: AbortSignal): Promise<OcrOutput> {
    await this.slot();
    try {
      signal?.throwIfAborted();
      const args = ['stdin', 'stdout', '-l', this.training.lang];
      if (this.tessdataDir) args.push('--tessdata-dir', this.tessdataDir);
      if (input.dpi) args.push('--dpi', String(Math.round(input.dpi)));
      args.push('-c', 'tessedit_create_hocr=1', '-c', 'hocr_font_info=0');
      const env = { ...process.env, OMP_THREAD_LIMIT: '1' };
      let res;
      try {
        res = await run(this.opts.command, args, input.image, env, signal);
      } catch (e) {
        throw new OcrError(`OCR of ${input.name} with ${this.opts.command} -l ${this.training.lang} failed: ${(e as Error).message}`, { cause: e });
      }
      const hocr = res.stdout.toString('utf8');
      if (!hocr.includes('ocr_page')) throw new OcrError(`OCR of ${input.name} gave no hOCR: ${res.stderr.trim()}`);
      return { hocr };
    } finally {
      this.free();
    }
  }

  async close(): Promise<void> {
    if (this.tempDir) {
      rmSync(this.tempDir, { recursive: true, force: true });
      this.tempDir = null;
    }
  }
}
