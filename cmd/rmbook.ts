import { Command } from 'commander';
import { bookKeys, deleteKeys } from '../pipeline/admin.js';
import { bookNameProblem } from '../pipeline/book.js';
import { addPipelineOptions, EXIT, runTool, storeLabel, ToolError, toolHelp, type PipelineOpts } from '../pipeline/cli.js';

interface Opts extends PipelineOpts {
  dryrun: boolean;
}

const program = addPipelineOptions(
  new Command('rmbook')
    .description('Delete every object of a book (every key under <book>/) from the store.')
    .argument('<book>', "the book's name")
    .option('--dryrun', 'only list what would be deleted', false),
).addHelpText('after', toolHelp('Exit 1 when no book of that name is stored.'));

runTool<Opts>(program, async ([book], o, { cfg, ui, connection }) => {
  const problem = bookNameProblem(book!);
  if (problem) throw new ToolError(`book name ${JSON.stringify(book)} ${problem}`, 2);
  const { store } = await connection();
  const keyList = await bookKeys(store, book!);
  const where = storeLabel(cfg);
  if (keyList.length === 0) throw new ToolError(`no book named ${JSON.stringify(book)} in ${where}`);
  if (o.dryrun) {
    for (const k of keyList) process.stdout.write(`${k}\n`);
    process.stdout.write(`Would delete ${keyList.length} object(s) of book ${book} (dry run: nothing deleted)\n`);
    return EXIT.ok;
  }
  const bar = ui.stage('Deleting', keyList.length);
  const n = await deleteKeys(store, keyList, (k) => bar.tick(k));
  bar.done();
  ui.stop();
  process.stdout.write(`Deleted ${n} object(s) of book ${book}\n`);
  return EXIT.ok;
});
