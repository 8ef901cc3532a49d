// The power-off command: parsed without a shell, run, observed by the test.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../pipeline/errors.js';
import { DEFAULT_POWEROFF_COMMAND, parseCommand, powerOff } from '../../pipeline/poweroff.js';

describe('parseCommand', () => {
  it('splits words, with quotes and no other shell syntax', () => {
    expect(parseCommand('sudo systemctl poweroff')).toEqual(['sudo', 'systemctl', 'poweroff']);
    expect(parseCommand(`  touch "/tmp/a b" 'c d'e ""  `)).toEqual(['touch', '/tmp/a b', 'c de', '']);
    expect(parseCommand('echo $HOME; rm -rf /')).toEqual(['echo', '$HOME;', 'rm', '-rf', '/']);
    expect(() => parseCommand('  ')).toThrow(ConfigError);
    expect(() => parseCommand('say "hi')).toThrow(/unclosed/);
  });

  it('defaults to the original command', () => {
    expect(DEFAULT_POWEROFF_COMMAND).toEqual(['sudo', 'systemctl', 'poweroff']);
  });
});

describe('powerOff', () => {
  it('runs the command and waits for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bp-poweroff-'));
    const marker = join(dir, 'powered-off');
    const r = await powerOff([process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], "off")', marker]);
    expect(r).toMatchObject({ ok: true, code: 0 });
    expect(readFileSync(marker, 'utf8')).toBe('off');
  });

  it('reports a failing or missing command instead of throwing', async () => {
    const r = await powerOff([process.execPath, '-e', 'console.error("not allowed"); process.exit(3)']);
    expect(r).toMatchObject({ ok: false, code: 3 });
    expect(r.stderr).toContain('not allowed');
    const m = await powerOff(['/nonexistent/poweroff-command']);
    expect(m.ok).toBe(false);
    expect(m.error).toMatch(/ENOENT/);
    expect(existsSync('/nonexistent')).toBe(false);
  });
});
