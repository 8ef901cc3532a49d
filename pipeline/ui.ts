import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { pino, type Logger } from 'pino';

/**
 * What a command tells its user: notices and progress. Progress bars with counts and ETA on a
 * terminal, plain lines otherwise; `-v` adds structured JSON logs (pino) on stderr.
 */
export interface Ui {
  readonly log: Logger;
  notice(msg: string): void;
  stage(name: string, total: number): Stage;
  stop(): void;
}

export interface Stage {
  tick(n?: number): void;
  setTotal(total: number): void;
  done(): void;
}

export function createUi(opts: { verbose: boolean; stream?: NodeJS.WriteStream; tty?: boolean }): Ui {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  const log = pino({ level: opts.verbose ? 'debug' : 'silent', base: undefined }, pino.destination(2));
  let multi: MultiBar | null = null;
  const bars: SingleBar[] = [];

  const write = (msg: string) => {
    if (multi) multi.log(`${msg}\n`);
    else stream.write(`${msg}\n`);
  };

  return {
    log,
    notice: write,
    stage(name: string, total: number): Stage {
      if (tty && !opts.verbose) {
        multi ??= new MultiBar(
          {
            stream,
            format: ' {stage} |{bar}| {value}/{total} | {percentage}% | ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 20,
            fps: 5,
          },
          Presets.shades_classic,
        );
        const bar = multi.create(total, 0, { stage: name.padEnd(13) });
        bars.push(bar);
        return {
          tick: (n = 1) => bar.increment(n),
          setTotal: (t) => bar.setTotal(t),
          done: () => bar.stop(),
        };
      }
      let value = 0;
      let t = total;
      let lastPrinted = -1;
      const started = Date.now();
      const line = () => {
        const pct = t ? Math.floor((value / t) * 100) : 100;
        // Plain mode: a line every 10 % (and at the end), not one per item.
        const bucket = Math.floor(pct / 10);
        if (bucket === lastPrinted && value !== t) return;
        lastPrinted = bucket;
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        write(`${name}: ${value}/${t} (${pct}%, ${secs} s)`);
      };
      return {
        tick: (n = 1) => {
          value += n;
          line();
        },
        setTotal: (nt) => {
          t = nt;
        },
        done: () => undefined,
      };
    },
    stop() {
      multi?.stop();
      multi = null;
    },
  };
}
