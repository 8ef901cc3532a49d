// Spot interruption notices, from the instance metadata service (IMDSv2).
//
// Every `intervalMs` (5 s): PUT /latest/api/token with `X-aws-ec2-metadata-token-ttl-seconds`
// (once, then again when it runs out or is refused), then GET
// /latest/meta-data/spot/instance-action with `X-aws-ec2-metadata-token`. 404 = no notice. 200 =
// `{"action": "terminate" | "stop" | "hibernate", "time": "2017-09-18T08:22:00Z"}`: the machine
// goes at `time` (about two minutes after the notice appears). The watcher then calls `onNotice`
// once, aborts its `signal` (reason: the notice) and stops polling.
//
// Errors (no metadata service: not on EC2, or IMDS switched off) go to `onError` and polling goes
// on; the first attempt that fails to connect at all is reported once, then quietly retried.

export interface InterruptionNotice {
  action: 'terminate' | 'stop' | 'hibernate';
  /** When the instance will be interrupted. */
  deadline: Date;
}

export interface InterruptionWatcherOptions {
  /** Default http://169.254.169.254 (IMDS). */
  endpoint?: string;
  /** Default 5000. */
  intervalMs?: number;
  /** Token lifetime asked for, 1..21600 s. Default 21600. */
  tokenTtlSeconds?: number;
  /** Per request. Default 2000. */
  requestTimeoutMs?: number;
  onNotice?: (n: InterruptionNotice) => void;
  onError?: (e: Error) => void;
  /** Stops the watcher. */
  signal?: AbortSignal;
  /** Tests: the clock. */
  now?: () => number;
}

export interface InterruptionWatcher {
  /** Aborted when a notice arrives; `signal.reason` is the notice. */
  readonly signal: AbortSignal;
  /** The notice, once there is one. */
  readonly notice: InterruptionNotice | undefined;
  /** Resolves with the notice; never rejects (and never resolves if no notice comes). */
  readonly noticed: Promise<InterruptionNotice>;
  stop(): void;
}

export const IMDS_ENDPOINT = 'http://169.254.169.254';
export const INTERRUPTION_POLL_MS = 5000;

/** Parses IMDS's instance-action document; throws on anything else. */
export function parseInstanceAction(text: string): InterruptionNotice {
  const v = JSON.parse(text) as { action?: unknown; time?: unknown };
  if (v.action !== 'terminate' && v.action !== 'stop' && v.action !== 'hibernate') throw new Error(`instance-action: unknown action ${JSON.stringify(v.action)}`);
  const deadline = new Date(String(v.time));
  if (typeof v.time !== 'string' || Number.isNaN(deadline.getTime())) throw new Error(`instance-action: bad time ${JSON.stringify(v.time)}`);
  return { action: v.action, deadline };
}

export function watchInterruption(o: InterruptionWatcherOptions = {}): InterruptionWatcher {
  const endpoint = (o.endpoint ?? IMDS_ENDPOINT).replace(/\/+$/, '');
  const interval = o.intervalMs ?? INTERRUPTION_POLL_MS;
  const ttl = o.tokenTtlSeconds ?? 21_600;
  const timeout = o.requestTimeoutMs ?? 2000;
  const now = o.now ?? Date.now;
  const noticeCtl = new AbortController();
  const stopCtl = new AbortController();
  let notice: InterruptionNotice | undefined;
  let resolveNoticed!: (n: InterruptionNotice) => void;
  const noticed = new Promise<InterruptionNotice>((res) => (resolveNoticed = res));
  let token: { value: string; expires: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unreachableReported = false;

  const request = (path: string, init: RequestInit): Promise<Response> =>
    fetch(`${endpoint}${path}`, { ...init, signal: AbortSignal.any([stopCtl.signal, AbortSignal.timeout(timeout)]) });

  async function getToken(): Promise<string> {
    if (token && token.expires > now()) return token.value;
    const res = await request('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttl) } });
    if (!res.ok) throw new Error(`IMDS token: HTTP ${res.status}`);
    const value = (await res.text()).trim();
    // Renew a minute early (or halfway, for short test lifetimes).
    token = { value, expires: now() + Math.max(ttl * 500, ttl * 1000 - 60_000) };
    return value;
  }

  async function poll(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const t = await getToken();
      const res = await request('/latest/meta-data/spot/instance-action', { headers: { 'X-aws-ec2-metadata-token': t } });
      if (res.status === 401) {
        await res.body?.cancel();
        token = undefined; // refused (expired): a new token, once
        continue;
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return;
      }
      if (!res.ok) throw new Error(`IMDS spot/instance-action: HTTP ${res.status}`);
      const n = parseInstanceAction(await res.text());
      notice = n;
      noticeCtl.abort(n);
      resolveNoticed(n);
      o.onNotice?.(n);
      return;
    }
    throw new Error('IMDS refused a fresh token (HTTP 401)');
  }

  const loop = async (): Promise<void> => {
    timer = undefined;
    if (stopCtl.signal.aborted || notice) return;
    try {
      await poll();
    } catch (e) {
      if (!stopCtl.signal.aborted) {
        const err = e instanceof Error ? e : new Error(String(e));
        const cause = (err as Error & { cause?: { code?: unknown } }).cause;
        const unreachable = err.name === 'TimeoutError' || (cause !== undefined && typeof cause.code === 'string');
        if (!unreachable || !unreachableReported) o.onError?.(err);
        if (unreachable) unreachableReported = true;
      }
    }
    if (!stopCtl.signal.aborted && !notice) timer = setTimeout(() => void loop(), interval);
  };

  const stop = (): void => {
    stopCtl.abort();
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) stop();
  else void loop();

  return {
    signal: noticeCtl.signal,
    get notice() {
      return notice;
    },
    noticed,
    stop,
  };
}
