// Powering the machine off (`bookpipeline --shutdown`, after --autostop idle seconds). The command
// is configurable, so tests (and machines set up differently) can give their own; it runs
// without a shell. Failures are returned and logged, never thrown: the worker has stopped either way.

import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import { ConfigError } from './errors.js';

/** As the Go original. On instances started by spotme, the user data allows exactly this in sudoers. */
export const DEFAULT_POWEROFF_COMMAND: readonly string[] = Object.freeze(['sudo', 'systemctl', 'poweroff']);

/**
 * A command line as words: split on whitespace, with '…' and "…" quoting (no other shell
 * syntax). Throws ConfigError for an empty command or an unclosed quote.
 */
export function parseCommand(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new ConfigError(`power-off command ${JSON.stringify(s)}: unclosed ${quote}`);
  if (inWord) words.push(cur);
  if (words.length === 0) throw new ConfigError('power-off command is empty');
  return words;
}

export interface PowerOffResult {
  command: string[];
  ok: boolean;
  /** Exit code; null when killed or not started. */
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Runs the power-off command and waits for it (at most `timeoutMs`, default 60 s). */
export function powerOff(command: readonly string[] = DEFAULT_POWEROFF_COMMAND, opts: { log?: Logger; timeoutMs?: number } = {}): Promise<PowerOffResult> {
  const [file, ...args] = command;
  if (!file) return Promise.resolve({ command: [], ok: false, code: null, stdout: '', stderr: '', error: 'empty command' });
  opts.log?.info({ command }, 'powering off');
  return new Promise((res) => {
    execFile(file, args, { timeout: opts.timeoutMs ?? 60_000, windowsHide: true }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      const r: PowerOffResult = { command: [...command], ok: !err, code, stdout: String(stdout), stderr: String(stderr) };
      if (err) {
        r.error = err.message.split('\n')[0]!;
        opts.log?.error({ command, code, stdout: r.stdout.slice(0, 2000), stderr: r.stderr.slice(0, 2000), err: r.error }, 'power-off command failed');
      }
      res(r);
    });
  });
}
