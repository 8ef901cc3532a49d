import { Command } from 'commander';
import { makePipeline } from '../pipeline/admin.js';
import { addPipelineOptions, EXIT, runTool, ToolError, toolHelp, type PipelineOpts } from '../pipeline/cli.js';
import { IAM_POLICY_NAMES, iamPolicies, iamPolicy, type IamPolicyName } from '../pipeline/iam.js';

interface Opts extends PipelineOpts {
  printIam?: string | boolean;
  accountId: string;
  workerRole: string;
}

const program = addPipelineOptions(
  new Command('mkpipeline').description(
    'Create the pipeline: the bucket, the queues preprocess, prenowipe, wipeonly, ocrpage and analyse,\n' +
      'and a dead-letter queue for each (a message received maxReceiveCount times moves there; default 5,\n' +
      'visibility timeout 120 s; both from the config file). Safe to run again: existing queues keep\n' +
      'their messages and get these settings.',
  )
    .option('--print-iam [policy]', `print the IAM policies (JSON) for this pipeline and create nothing: all, or one of ${IAM_POLICY_NAMES.join(', ')}`)
    .option('--account-id <id>', 'with --print-iam: the AWS account id (default *, any account)', '*')
    .option('--worker-role <name>', 'with --print-iam: the workers\' IAM role name', 'bookpipeline-worker'),
).addHelpText('after', toolHelp());

runTool<Opts>(program, async (_args, o, { cfg, connection }) => {
  if (o.printIam !== undefined) {
    const vars = { region: cfg.region, account: o.accountId, bucket: cfg.bucket, queuePrefix: cfg.queuePrefix, workerRole: o.workerRole };
    if (o.printIam !== true && !(IAM_POLICY_NAMES as readonly string[]).includes(String(o.printIam))) {
      throw new ToolError(`--print-iam ${o.printIam}: expected one of ${IAM_POLICY_NAMES.join(', ')}`, 2);
    }
    const doc = o.printIam === true ? iamPolicies(vars) : iamPolicy(o.printIam as IamPolicyName, vars);
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return EXIT.ok;
  }
  const made = await makePipeline(await connection(), cfg);
  const w = Math.max(...made.map((m) => `${m.what} ${m.name}`.length));
  for (const m of made) process.stdout.write(`${`${m.what} ${m.name}`.padEnd(w)}  ${m.result}\n`);
  const created = made.filter((m) => m.result === 'created').length;
  process.stdout.write(
    `${created} created, ${made.length - created} existed (maxReceiveCount ${cfg.maxReceiveCount}, visibility ${cfg.visibilitySeconds} s)\n`,
  );
  return EXIT.ok;
});
