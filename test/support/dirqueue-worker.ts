// A child process for the multi-process DirQueue test: receive from one queue until it is
// empty, record every body in `outFile` (one JSON line each), extend and delete each message.
//   node --import tsx test/support/dirqueue-worker.ts <root> <queue> <outFile>

import { appendFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirQueueAdmin } from '../../pipeline/local/queue.js';

const [root, queueName, outFile] = process.argv.slice(2);
if (!root || !queueName || !outFile) {
  process.stderr.write('usage: dirqueue-worker <root> <queue> <outFile>\n');
  process.exit(2);
}

const q = await new DirQueueAdmin({ root, pollMs: 20 }).open(queueName);
let empties = 0;
while (empties < 2) {
  const got = await q.receive({ max: 3, waitSeconds: 1, visibilitySeconds: 30 });
  if (got.length === 0) {
    empties++;
    continue;
  }
  empties = 0;
  for (const m of got) {
    await appendFile(outFile, `${JSON.stringify({ body: m.body, id: m.id, receiveCount: m.receiveCount, pid: process.pid })}\n`);
    await q.extend(m.handle, 30);
    await sleep(Math.floor(Math.random() * 3));
    await q.delete(m.handle);
  }
}
