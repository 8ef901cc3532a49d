import { join } from 'node:path';
import type { PipelineConfig } from './cloud-config.js';
import type { AwsInterceptor } from './aws/options.js';
import type { QueueAdmin, Store } from './ports.js';
import { withTestAwsFaults } from './test-hooks.js';

export interface Connection {
  store: Store;
  queues: QueueAdmin;
  /** Frees clients; safe to call twice. */
  close(): Promise<void>;
}

/**
 * The one place that chooses adapters: SQS and S3 for `aws`, a folder for `local`. The AWS SDK is
 * loaded only when it is used.
 */
export async function connect(cfg: PipelineConfig, opts: { intercept?: AwsInterceptor } = {}): Promise<Connection> {
  if (cfg.conn === 'local') {
    const { DirStore } = await import('./local/store.js');
    const { DirQueueAdmin } = await import('./local/queue.js');
    return {
      store: new DirStore(join(cfg.localDir, 'storage', cfg.bucket)),
      queues: new DirQueueAdmin({ root: join(cfg.localDir, 'queues') }),
      close: async () => undefined,
    };
  }
  const { S3Store } = await import('./aws/s3.js');
  const { SqsQueueAdmin } = await import('./aws/sqs.js');
  // withTestAwsFaults: TEST-ONLY fault injection (BOOKPIPELINE_TEST_AWS_FAULTS); without it, `opts.intercept`.
  const aws = { region: cfg.region, endpoint: cfg.endpoint, intercept: withTestAwsFaults(opts.intercept) };
  const store = new S3Store({ ...aws, bucket: cfg.bucket });
  const queues = new SqsQueueAdmin(aws);
  return {
    store,
    queues,
    close: async () => {
      store.destroy();
      queues.destroy();
    },
  };
}
