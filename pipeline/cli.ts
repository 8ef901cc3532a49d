// What the book tools (cmd/*.ts) share: the pipeline flags, the connection, one-line errors and
// exit codes. A command file parses its own arguments, calls `runTool`, and does its work through
// pipeline/upload.ts, download.ts and status.ts.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BookError } from './book.js';
import { buildPipelineConfig, PIPELINE_ENV_HELP, type PipelineConfig, type PipelineFlags } from './cloud-config.js';
import { connect, type Connection } from './connect.js';
import { ConfigError, NotFoundError } from './errors.js';
import { BadMessageError } from './messages.js';
import { createUi, type Ui } from './ui.js';

/** Exit codes of every book tool. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/**
 * A failure a tool reports in one line and exits with: 1 for a refusal or failure (a book that
 * exists, a corrupt page, an unknown book), 2 for bad usage or configuration.
 */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** The options every pipeline tool takes (see PIPELINE_ENV_HELP). */
export interface PipelineOpts extends PipelineFlags {
  verbose: boolean;
}

/** Adds -c, --region, --endpoint, --bucket, --queue-prefix, --local-dir, --config and -v. */
export function addPipelineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-c, --conn <conn>', 'aws or local (default aws, or BOOKPIPELINE_CONN)').choices(['aws', 'local']))
    .option('--region <region>', 'AWS region (default eu-west-2)')
    .option('--endpoint <url>', 'S3/SQS endpoint, e.g. http://127.0.0.1:4566')
    .option('--bucket <name>', 'bucket (default rescribeinprogress)')
    .option('--queue-prefix <prefix>', 'queue name prefix (default rescribe)')
    .option('--local-dir <dir>', 'folder of the store and queues for -c local')
    .option('--config <file>', 'JSON config file (default ~/.config/bookpipeline/config.json)')
    .option('-v, --verbose', 'structured JSON logs on stderr', false);
}

/** `--help` text after the options: the settings and the exit codes. */
export function toolHelp(extra = ''): string {
  return (
    `\n${PIPELINE_ENV_HELP}\n\n` +
    'Exit codes: 0 done; 1 failed or refused (the message says why); 2 bad usage or configuration.' +
    (extra ? `\n${extra}` : '')
  );
}

export function pipelineConfigFrom(o: PipelineOpts): PipelineConfig {
  return buildPipelineConfig({
    conn: o.conn,
    region: o.region,
    endpoint: o.endpoint,
    bucket: o.bucket,
    queuePrefix: o.queuePrefix,
    localDir: o.localDir,
    config: o.config,
  });
}

/** Where the books are, for messages: `bucket rescribeinprogress` or `the local store /tmp/bookpipeline`. */
export function storeLabel(cfg: Pick<PipelineConfig, 'conn' | 'bucket' | 'localDir'>): string {
  return cfg.conn === 'aws' ? `bucket ${cfg.bucket}` : `the local store ${cfg.localDir}`;
}

/** A commander argument parser for a whole number in [min, max]. */
export function intArg(name: string, min: number, max: number = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number in ${min}..${max}`);
    }
    return n;
  };
}

export interface ToolContext {
  cfg: PipelineConfig;
  ui: Ui;
  /** Connects on first use; closed by runTool at the end. */
  connection(): Promise<Connection>;
}

/**
 * Runs a tool: parses argv with `program`, builds the config and the UI, calls `main`, maps errors
 * to a one-line message (`<tool>: <message>`) and an exit code, and exits. `main` returns the
 * exit code (usually EXIT.ok).
 */
export function runTool<O extends PipelineOpts>(
  program: Command,
  main: (args: string[], opts: O, ctx: ToolContext) => Promise<number>,
): void {
  const name = program.name();
  program.exitOverride().showHelpAfterError(`(run ${name} --help for usage)`);
  let conn: Promise<Connection> | undefined;
  let verbose = false;
  const run = async (): Promise<number> => {
    try {
      program.parse();
    } catch (e) {
      if (e instanceof CommanderError) {
        // commander has printed the help or the error already.
        return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version'
          ? EXIT.ok
          : EXIT.usage;
      }
      throw e;
    }
    const opts = program.opts<O>();
    verbose = opts.verbose;
    const cfg = pipelineConfigFrom(opts);
    const ui = createUi({ verbose: opts.verbose });
    ui.log.debug({ conn: cfg.conn, bucket: cfg.bucket, queuePrefix: cfg.queuePrefix, endpoint: cfg.endpoint }, 'config');
    const ctx: ToolContext = {
      cfg,
      ui,
      connection: () => (conn ??= connect(cfg)),
    };
    try {
      return await main(program.args, opts, ctx);
    } finally {
      ui.stop();
    }
  };
  run()
    .catch((e: unknown) => {
      process.stderr.write(`${name}: ${describeToolError(e)}\n`);
      if ((verbose || process.env.DEBUG) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
      return exitCodeFor(e);
    })
    .then(async (code) => {
      if (conn) await conn.then((c) => c.close()).catch(() => undefined);
      process.exit(code);
    });
}

/** One line naming the thing and the problem. */
export function describeToolError(e: unknown): string {
  if (e instanceof NotFoundError && (e.what === 'bucket' || e.what === 'queue')) {
    return `${e.what} ${e.id} does not exist (create the pipeline with mkpipeline)`;
  }
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, ' ');
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof ToolError) return e.exitCode;
  if (e instanceof ConfigError || e instanceof BookError || e instanceof BadMessageError) return EXIT.usage;
  if (e instanceof NotFoundError && (e.what === 'bucket' || e.what === 'queue')) return EXIT.usage;
  return EXIT.failure;
}
