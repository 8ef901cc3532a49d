// A fake EC2 (not an emulator): a node:http server speaking the EC2 Query API for the three
// actions the fleet adapter uses (RunInstances, DescribeInstances, TerminateInstances), with state
// in memory and faults to inject. Requests are form-encoded POSTs (`Action=…&Version=2016-11-15&…`,
// lists flattened as `Name.1`, `Name.2`), answers are XML shaped after the EC2 API Reference's
// examples, errors are `<Response><Errors><Error><Code>…`. It encodes our own reading of the API:
// what it accepts is what we believe EC2 accepts. Unknown actions, parameters and filters are
// rejected loudly (HTTP 400, and listed in `rejected`) so that the adapter cannot start using
// something the fake does not model without a test noticing.
//
//   const ec2 = await startFakeEc2();   // ec2.endpoint → http://127.0.0.1:PORT
//   ec2.inject({ action: 'RunInstances', code: 'InsufficientInstanceCapacity', times: 1 });
//   ec2.advance();                       // pending → running, shutting-down → terminated
//   await ec2.close();

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const EC2_API_VERSION = '2016-11-15';
const XMLNS = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;

export type Params = Record<string, string>;

export interface FakeRequest {
  action: string;
  params: Params;
  /** The request carried a SigV4 Authorization header. */
  signed: boolean;
}

export interface FakeInstance {
  id: string;
  reservationId: string;
  type: string;
  state: 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
  launchTime: Date;
  imageId: string;
  subnetId: string;
  securityGroupIds: string[];
  keyName?: string;
  iamInstanceProfile?: string;
  spot: boolean;
  spotRequestId?: string;
  maxPrice?: string;
  tags: Map<string, string>;
  /** Tags of the instance's volume(s), from TagSpecification ResourceType=volume. */
  volumeTags: Map<string, string>;
  privateIp: string;
  publicIp: string;
  userData?: string;
  clientToken?: string;
  shutdownBehavior?: string;
  metadataHttpTokens?: string;
}

export interface Fault {
  action: string;
  code: string;
  message?: string;
  /** Default: by the code (RequestLimitExceeded 503, InsufficientInstanceCapacity 500, others 400). */
  status?: number;
  /** How many requests it answers (default 1; Infinity for all). */
  times?: number;
  /** Only requests for which this is true. */
  when?: (params: Params) => boolean;
  /** The request takes effect, then the answer is this error (an answer lost on the way back). */
  afterEffect?: boolean;
}

const STATE_CODES: Record<FakeInstance['state'], number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A tiny XML writer: objects become elements, arrays become `<item>` lists, undefined is left out. */
type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [k: string]: XmlValue };
function xml(v: XmlValue): string {
  if (v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => `<item>${xml(x)}</item>`).join('');
  if (typeof v === 'object') {
    return Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `<${k}>${xml(x)}</${k}>`)
      .join('');
  }
  return esc(String(v));
}

/** `Prefix.N` values in N order (EC2's flattened lists). */
function listParam(params: Params, prefix: string): string[] {
  const out: Array<[number, string]> = [];
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`);
  for (const [k, v] of Object.entries(params)) {
    const m = re.exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** `Prefix.N.rest` groups in N order, each as `{ rest: value }`. */
function structListParam(params: Params, prefix: string): Params[] {
  const groups = new Map<number, Params>();
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.(.+)$`);
  for (const [k, v] of Object.entries(params)) {
    const m = re.exec(k);
    if (!m) continue;
    const n = Number(m[1]);
    let g = groups.get(n);
    if (!g) groups.set(n, (g = {}));
    g[m[2]!] = v;
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Top-level parameter names (before the first `.`) each action accepts. */
const KNOWN_PARAMS: Record<string, RegExp> = {
  RunInstances:
    /^(Action|Version|ImageId|InstanceType|MinCount|MaxCount|SubnetId|SecurityGroupId|KeyName|UserData|IamInstanceProfile|TagSpecification|InstanceMarketOptions|InstanceInitiatedShutdownBehavior|MetadataOptions|ClientToken|DryRun)$/,
  DescribeInstances: /^(Action|Version|Filter|InstanceId|MaxResults|NextToken|DryRun)$/,
  TerminateInstances: /^(Action|Version|InstanceId|DryRun)$/,
};

const KNOWN_FILTERS = /^(tag:.+|tag-key|instance-state-name|instance-id|instance-type|instance-lifecycle)$/;

export interface FakeEc2Options {
  /** Instances per DescribeInstances page when the request gives no MaxResults. Default 1000. */
  pageSize?: number;
  /** Print rejected requests on stderr (default true: "loudly"). */
  loud?: boolean;
}

export class FakeEc2 {
  readonly requests: FakeRequest[] = [];
  /** Requests refused as not modelled (unknown action, parameter or filter). */
  readonly rejected: Array<{ action: string; why: string }> = [];
  readonly instances = new Map<string, FakeInstance>();
  /** Instances that can still be started, by type; a type not listed has no limit. */
  readonly capacity = new Map<string, number>();
  /** The current spot price by type: a MaxPrice below it gets SpotMaxPriceTooLow. */
  readonly spotPrice = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private readonly tokens = new Map<string, string>();
  private seq = 0;
  private server: Server | undefined;
  endpoint = '';

  constructor(private readonly opts: FakeEc2Options = {}) {}

  async listen(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', res));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((res) => s.close(() => res()));
  }

  inject(f: Fault): void {
    this.faults.push({ times: 1, ...f });
  }

  /** Forget requests, instances, faults, capacity and prices. */
  reset(): void {
    this.requests.length = 0;
    this.rejected.length = 0;
    this.instances.clear();
    this.capacity.clear();
    this.spotPrice.clear();
    this.faults.length = 0;
    this.tokens.clear();
  }

  /** The requests of one action. */
  calls(action: string): Params[] {
    return this.requests.filter((r) => r.action === action).map((r) => r.params);
  }

  /** One step of the instance life cycle: pending → running, shutting-down → terminated, stopping → stopped. */
  advance(): void {
    for (const i of this.instances.values()) {
      if (i.state === 'pending') i.state = 'running';
      else if (i.state === 'shutting-down') i.state = 'terminated';
      else if (i.state === 'stopping') i.state = 'stopped';
    }
  }

  /** Add an instance that is not one of ours (other tags), to check that it is never seen or touched. */
  addForeign(tags: Record<string, string> = { Name: 'someone-else' }, type = 't3.micro'): FakeInstance {
    const inst = this.newInstance(type, `r-${this.hex(17)}`, {});
    inst.state = 'running';
    for (const [k, v] of Object.entries(tags)) inst.tags.set(k, v);
    this.instances.set(inst.id, inst);
    return inst;
  }

  private hex(n: number): string {
    return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
  }

  private newInstance(type: string, reservationId: string, p: Params): FakeInstance {
    this.seq += 1;
    const a = (this.seq >> 8) & 255;
    const b = this.seq & 255;
    return {
      id: `i-${this.hex(17)}`,
      reservationId,
      type,
      state: 'pending',
      launchTime: new Date(Math.floor(Date.now() / 1000) * 1000),
      imageId: p.ImageId ?? 'ami-0000000000000000',
      subnetId: p.SubnetId ?? 'subnet-0default0000000',
      securityGroupIds: listParam(p, 'SecurityGroupId'),
      privateIp: `172.31.${a}.${b}`,
      publicIp: `203.0.113.${b}`,
      spot: false,
      tags: new Map(),
      volumeTags: new Map(),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const action = params.Action ?? '(none)';
    this.requests.push({ action, params, signed: /^AWS4-HMAC-SHA256 /.test(String(req.headers.authorization ?? '')) });
    try {
      if (req.method !== 'POST') throw new Ec2Error('InvalidAction', `fake EC2 takes POST only, got ${req.method}`);
      const known = KNOWN_PARAMS[action];
      if (!known) this.reject(action, `The action ${action} is not valid for this web service (the fake EC2 models RunInstances, DescribeInstances, TerminateInstances only).`, 'InvalidAction');
      if (params.Version !== EC2_API_VERSION) throw new Ec2Error('InvalidParameterValue', `Version ${params.Version} is not ${EC2_API_VERSION}`);
      for (const k of Object.keys(params)) {
        const top = k.split('.')[0]!;
        if (!known!.test(top)) this.reject(action, `The parameter ${k} is not recognized (not modelled by the fake EC2).`, 'UnknownParameter');
      }
      const fault = this.faults.find((f) => f.action === action && (f.times ?? 1) > 0 && (!f.when || f.when(params)));
      const faultError = fault ? new Ec2Error(fault.code, fault.message ?? `${fault.code} (injected by the fake EC2)`, fault.status ?? defaultStatus(fault.code)) : undefined;
      if (fault) fault.times = (fault.times ?? 1) - 1;
      if (faultError && !fault!.afterEffect) throw faultError;
      if (params.DryRun === 'true') throw new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
      let body: string;
      if (action === 'RunInstances') body = this.runInstances(params);
      else if (action === 'DescribeInstances') body = this.describeInstances(params);
      else body = this.terminateInstances(params);
      if (faultError) throw faultError;
      this.send(res, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}"><requestId>${this.requestId()}</requestId>${body}</${action}Response>`);
    } catch (e) {
      const err = e instanceof Ec2Error ? e : new Ec2Error('InternalError', (e as Error).message, 500);
      this.send(
        res,
        err.status,
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(err.code)}</Code><Message>${esc(err.message)}</Message></Error></Errors><RequestID>${this.requestId()}</RequestID></Response>`,
      );
    }
  }

  private reject(action: string, why: string, code: string): never {
    this.rejected.push({ action, why });
    if (this.opts.loud !== false) process.stderr.write(`fake EC2: rejected ${action}: ${why}\n`);
    throw new Ec2Error(code, why);
  }

  private requestId(): string {
    return `${this.hex(8)}-${this.hex(4)}-${this.hex(4)}-${this.hex(4)}-${this.hex(12)}`;
  }

  private send(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  // ───────────── actions ─────────────

  private runInstances(p: Params): string {
    const type = p.InstanceType;
    if (!p.ImageId) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ImageId');
    if (!type) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceType');
    const min = Number(p.MinCount);
    const max = Number(p.MaxCount);
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
      throw new Ec2Error('InvalidParameterValue', `MinCount ${p.MinCount} / MaxCount ${p.MaxCount} are invalid`);
    }
    if (p.UserData !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(p.UserData)) {
      throw new Ec2Error('InvalidUserData.Malformed', 'Invalid BASE64 encoding of user data.');
    }
    if (p.ClientToken) {
      const prior = this.tokens.get(p.ClientToken);
      if (prior !== undefined) return prior; // idempotent: the same answer again, nothing new started
    }
    const market = p['InstanceMarketOptions.MarketType'];
    if (market !== undefined && market !== 'spot') throw new Ec2Error('InvalidParameterValue', `MarketType ${market} is invalid`);
    const spot = market === 'spot';
    const maxPrice = p['InstanceMarketOptions.SpotOptions.MaxPrice'];
    if (spot) {
      const kind = p['InstanceMarketOptions.SpotOptions.SpotInstanceType'];
      const behaviour = p['InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior'];
      if (kind === 'one-time' && behaviour !== undefined && behaviour !== 'terminate') {
        throw new Ec2Error('InvalidParameterCombination', 'One-time Spot Instances can only be terminated on interruption.');
      }
      const price = this.spotPrice.get(type);
      if (maxPrice !== undefined && price !== undefined && Number(maxPrice) < price) {
        throw new Ec2Error(
          'SpotMaxPriceTooLow',
          `Your Spot request price of ${maxPrice} is lower than the minimum required Spot request fulfillment price of ${price}.`,
        );
      }
    }
    const cap = this.capacity.get(type);
    const n = cap === undefined ? max : Math.min(max, cap);
    if (n < min) {
      throw new Ec2Error(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity.`,
        500,
      );
    }
    if (cap !== undefined) this.capacity.set(type, cap - n);
    const tagSpecs = structListParam(p, 'TagSpecification');
    const tagsFor = (resource: string): Map<string, string> => {
      const out = new Map<string, string>();
      tagSpecs.forEach((g, idx) => {
        if (g.ResourceType !== resource) return;
        for (const t of structListParam(prefixed(p, `TagSpecification.${idx + 1}.`), 'Tag')) if (t.Key) out.set(t.Key, t.Value ?? '');
      });
      return out;
    };
    for (const g of tagSpecs) {
      if (!['instance', 'volume', 'spot-instances-request', 'network-interface'].includes(g.ResourceType ?? '')) {
        throw new Ec2Error('InvalidParameterValue', `'${g.ResourceType}' is not a valid taggable resource type for this operation.`);
      }
    }
    const reservationId = `r-${this.hex(17)}`;
    const made: FakeInstance[] = [];
    for (let k = 0; k < n; k++) {
      const inst = this.newInstance(type, reservationId, p);
      inst.spot = spot;
      if (spot) inst.spotRequestId = `sir-${this.hex(8)}`;
      if (maxPrice !== undefined) inst.maxPrice = maxPrice;
      if (p.KeyName) inst.keyName = p.KeyName;
      const profile = p['IamInstanceProfile.Name'] ?? p['IamInstanceProfile.Arn'];
      if (profile) inst.iamInstanceProfile = profile;
      if (p.UserData) inst.userData = Buffer.from(p.UserData, 'base64').toString('utf8');
      if (p.ClientToken) inst.clientToken = p.ClientToken;
      if (p.InstanceInitiatedShutdownBehavior) inst.shutdownBehavior = p.InstanceInitiatedShutdownBehavior;
      if (p['MetadataOptions.HttpTokens']) inst.metadataHttpTokens = p['MetadataOptions.HttpTokens'];
      inst.tags = tagsFor('instance');
      inst.volumeTags = tagsFor('volume');
      this.instances.set(inst.id, inst);
      made.push(inst);
    }
    const body = xml({
      reservationId,
      ownerId: '123456789012',
      groupSet: [],
      instancesSet: made.map((i) => this.instanceXml(i)),
    });
    if (p.ClientToken) this.tokens.set(p.ClientToken, body);
    return body;
  }

  private instanceXml(i: FakeInstance): Record<string, XmlValue> {
    return {
      instanceId: i.id,
      imageId: i.imageId,
      instanceState: { code: STATE_CODES[i.state], name: i.state },
      privateDnsName: `ip-${i.privateIp.replace(/\./g, '-')}.ec2.internal`,
      dnsName: i.state === 'running' ? `ec2-${i.publicIp.replace(/\./g, '-')}.compute-1.amazonaws.com` : undefined,
      keyName: i.keyName,
      amiLaunchIndex: 0,
      instanceType: i.type,
      launchTime: i.launchTime,
      placement: { availabilityZone: 'us-east-1a', tenancy: 'default' },
      monitoring: { state: 'disabled' },
      subnetId: i.subnetId,
      vpcId: 'vpc-0fake000000000000',
      privateIpAddress: i.privateIp,
      ipAddress: i.state === 'running' ? i.publicIp : undefined,
      groupSet: i.securityGroupIds.map((g) => ({ groupId: g, groupName: g })),
      architecture: 'x86_64',
      rootDeviceType: 'ebs',
      rootDeviceName: '/dev/xvda',
      instanceLifecycle: i.spot ? 'spot' : undefined,
      spotInstanceRequestId: i.spotRequestId,
      iamInstanceProfile: i.iamInstanceProfile ? { arn: `arn:aws:iam::123456789012:instance-profile/${i.iamInstanceProfile}`, id: 'AIPAFAKE' } : undefined,
      clientToken: i.clientToken,
      tagSet: i.tags.size ? [...i.tags].map(([key, value]) => ({ key, value })) : undefined,
      virtualizationType: 'hvm',
    };
  }

  private describeInstances(p: Params): string {
    const ids = listParam(p, 'InstanceId');
    const filters = structListParam(p, 'Filter').map((g, idx) => ({
      name: g.Name ?? '',
      values: listParam(prefixed(p, `Filter.${idx + 1}.`), 'Value'),
    }));
    for (const f of filters) {
      if (!KNOWN_FILTERS.test(f.name)) this.reject('DescribeInstances', `The filter '${f.name}' is invalid (not modelled by the fake EC2).`, 'InvalidParameterValue');
    }
    if (ids.length && p.MaxResults) throw new Ec2Error('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    for (const id of ids) if (!this.instances.has(id)) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    const match = (i: FakeInstance): boolean =>
      (ids.length === 0 || ids.includes(i.id)) &&
      filters.every((f) => {
        if (f.name.startsWith('tag:')) {
          const v = i.tags.get(f.name.slice(4));
          return v !== undefined && f.values.includes(v);
        }
        if (f.name === 'tag-key') return f.values.some((k) => i.tags.has(k));
        if (f.name === 'instance-state-name') return f.values.includes(i.state);
        if (f.name === 'instance-id') return f.values.includes(i.id);
        if (f.name === 'instance-type') return f.values.includes(i.type);
        return f.values.includes(i.spot ? 'spot' : 'scheduled');
      });
    const all = [...this.instances.values()].filter(match);
    const maxResults = p.MaxResults ? Number(p.MaxResults) : (this.opts.pageSize ?? 1000);
    if (p.MaxResults && (maxResults < 5 || maxResults > 1000)) {
      throw new Ec2Error('InvalidParameterValue', `Value ( ${p.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
    }
    const start = p.NextToken ? Number(Buffer.from(p.NextToken, 'base64').toString('utf8')) : 0;
    const page = all.slice(start, start + Math.min(maxResults, this.opts.pageSize ?? maxResults));
    const end = start + page.length;
    const byReservation = new Map<string, FakeInstance[]>();
    for (const i of page) {
      const r = byReservation.get(i.reservationId) ?? [];
      r.push(i);
      byReservation.set(i.reservationId, r);
    }
    return xml({
      reservationSet: [...byReservation].map(([rid, insts]) => ({
        reservationId: rid,
        ownerId: '123456789012',
        groupSet: [],
        instancesSet: insts.map((i) => this.instanceXml(i)),
      })),
      nextToken: end < all.length ? Buffer.from(String(end)).toString('base64') : undefined,
    });
  }

  private terminateInstances(p: Params): string {
    const ids = listParam(p, 'InstanceId');
    if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
    for (const id of ids) if (!this.instances.has(id)) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    const items = ids.map((id) => {
      const i = this.instances.get(id)!;
      const previous = i.state;
      if (i.state !== 'terminated') i.state = 'shutting-down';
      return {
        instanceId: id,
        currentState: { code: STATE_CODES[i.state], name: i.state },
        previousState: { code: STATE_CODES[previous], name: previous },
      };
    });
    return xml({ instancesSet: items });
  }
}

function defaultStatus(code: string): number {
  if (code === 'RequestLimitExceeded' || code === 'Unavailable' || code === 'ServiceUnavailable') return 503;
  if (/^Insufficient|^InternalError$/.test(code)) return 500;
  if (code === 'DryRunOperation') return 412;
  return 400;
}

/** The params under `prefix`, with the prefix removed. */
function prefixed(p: Params, prefix: string): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

export async function startFakeEc2(opts: FakeEc2Options = {}): Promise<FakeEc2> {
  return new FakeEc2(opts).listen();
}
