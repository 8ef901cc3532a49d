// Counts AWS requests per service and command, through the adapters' `intercept` hook.

import type { AwsInterceptor } from './aws/options.js';

export interface RequestCounts {
  sqs: Record<string, number>;
  s3: Record<string, number>;
  total: { sqs: number; s3: number };
}

export class RequestCounter {
  // EC2 calls (the fleet side) are counted too but not reported: workers make none.
  private readonly counts = { sqs: new Map<string, number>(), s3: new Map<string, number>(), ec2: new Map<string, number>() };

  /** An interceptor that counts every call, then hands it to `next` (e.g. a fault injector). */
  interceptor(next?: AwsInterceptor): AwsInterceptor {
    return (call) => {
      const m = this.counts[call.service];
      const name = call.command.replace(/Command$/, '');
      m.set(name, (m.get(name) ?? 0) + 1);
      return next?.(call);
    };
  }

  snapshot(): RequestCounts {
    const obj = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return {
      sqs: obj(this.counts.sqs),
      s3: obj(this.counts.s3),
      total: { sqs: sum(this.counts.sqs), s3: sum(this.counts.s3) },
    };
  }
}
