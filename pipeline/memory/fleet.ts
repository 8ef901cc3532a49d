// A Fleet in memory: for tests of what drives a fleet (the scaler), and to try spotme's logic
// without an AWS account. Instances start `pending`; `advance()` moves them on one step, as
// EC2 would in a while (pending → running, shutting-down → terminated).

import { FleetCapacityError, FleetRefusedError, LIVE_STATES, type Fleet, type InstanceState, type WorkerInstance } from '../fleet.js';

export interface MemoryFleetOptions {
  /** Instance type of started workers. Default `m5.large`. */
  type?: string;
  /** How many more instances can be started in all; undefined = unlimited. */
  capacity?: number;
}

export class MemoryFleet implements Fleet {
  private readonly instances = new Map<string, WorkerInstance>();
  private next = 1;
  /** Every `start` call's count, in order. */
  readonly startCalls: number[] = [];
  capacity: number | undefined;
  private readonly type: string;

  constructor(opts: MemoryFleetOptions = {}) {
    this.type = opts.type ?? 'm5.large';
    this.capacity = opts.capacity;
  }

  async start(count: number): Promise<WorkerInstance[]> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`start: count must be a whole number ≥ 1, got ${count}`);
    this.startCalls.push(count);
    const n = this.capacity === undefined ? count : Math.min(count, this.capacity);
    if (n === 0) throw new FleetCapacityError(`no capacity for ${this.type}`);
    if (this.capacity !== undefined) this.capacity -= n;
    const started: WorkerInstance[] = [];
    for (let k = 0; k < n; k++) {
      const id = `i-${(this.next++).toString(16).padStart(17, '0')}`;
      const inst: WorkerInstance = {
        id,
        type: this.type,
        state: 'pending',
        launchedAt: new Date(),
        lifecycle: 'spot',
        spotRequestId: `sir-${id.slice(-8)}`,
        name: 'bookpipeline-worker',
      };
      this.instances.set(id, inst);
      started.push({ ...inst });
    }
    return started;
  }

  async list(opts: { states?: readonly InstanceState[] } = {}): Promise<WorkerInstance[]> {
    const states = opts.states ?? LIVE_STATES;
    return [...this.instances.values()].filter((i) => states.includes(i.state)).map((i) => ({ ...i }));
  }

  async terminate(ids: readonly string[]): Promise<void> {
    const unknown = ids.filter((id) => !this.instances.has(id));
    if (unknown.length) throw new FleetRefusedError(`not workers of this pipeline: ${unknown.join(', ')}`);
    for (const id of ids) {
      const i = this.instances.get(id)!;
      if (i.state !== 'terminated') i.state = 'shutting-down';
    }
  }

  /** One step of EC2's life cycle for every instance. */
  advance(): void {
    for (const i of this.instances.values()) {
      if (i.state === 'pending') i.state = 'running';
      else if (i.state === 'shutting-down' || i.state === 'stopping') i.state = i.state === 'stopping' ? 'stopped' : 'terminated';
    }
  }

  /** An instance that stopped itself (a worker's autostop with --shutdown: terminated, as spotme launches them). */
  stopItself(id: string): void {
    const i = this.instances.get(id);
    if (i) i.state = 'terminated';
  }
}
