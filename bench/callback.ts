/**
 * The callback path under load: valid signed callbacks (one replayed request — the answer is deterministic, and a
 * replay costs what a first callback costs: FC answers the repeated task id with 409) against the callback function
 * on node:http, beside its floor (node:http repeating its two outbound calls and its answer, with no logic) and a bare node:http
 * server answering `{}`, in the same run with the same pinning:
 *
 *   CPU 0: the server under test (bare, floor, or the callback function) — alone.
 *   CPU 1: autocannon (64 connections, fixed duration), and the callback's outbound side — the minimal responder, or
 *          the whole local cloud.
 *
 * Each server is warmed up once; then they take turns in short windows, five rounds, the order reversed every other
 * round (bare, floor, callback; callback, floor, bare; …; with the full local cloud: floor and callback). The headline
 * `callbackVsFloor` is the median of the five rounds' callback ÷ floor: the shared machine drifts by ±15–20% within
 * minutes, and a floor and a callback measured seconds apart see the same drift, so their ratio carries little of it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackInfo } from '../local/cloud.js';
import { generateCallbackSigningKey, loadOrCreateCallbackSigningKey } from '../local/oss/callback-signing.js';
import { signedCallbackRequest } from '../local/oss/signed-callback.js';
import type { RoleCredentials } from '../shared/http/edge.js';
import { issueUploadTicket, parseTicketKeyring } from '../shared/upload-ticket.js';
import type { FloorScript } from './callback/floor.js';
import { type Bench, type BenchContext, table, verdict } from './lib/bench.js';
import { type BenchChild, beside, startChild } from './lib/child.js';
import { cpuShare } from './lib/cpu.js';
import type { LoadOptions, LoadResult } from './lib/load.js';
import { mean, median, round } from './lib/stats.js';

const BUCKET = 'upcall-bench';
const TICKET_KEYS = `k1:${'b'.repeat(40)}`;
const CALLBACK_PATH = '/oss-callback';
const CONNECTIONS = 64;
/**
 * Load before each measured window, long enough for V8 to finish optimising: with 2 s, TurboFan still took ~9% of
 * the callback's core in the seconds after (perf record; ~2% once settled), and the floor, a few lines, settles at
 * once. Steady state is what is compared.
 */
const WARM_UP_SECONDS = 5;
/** Paired rounds: the headline ratios are medians over them. */
const ROUNDS = 5;
/** Each measured window, after a short load that brings a warm server's connections back to steady state. */
const MEASURE_SECONDS = 4;
const SETTLE_SECONDS = 1;
const SERVER_CPU = '0';
/** `UPCALL_BENCH_CPU_PROF=<dir>`: profile the floor and callback servers (`node --cpu-prof`) to find where time goes. */
const PROFILE_DIR = process.env.UPCALL_BENCH_CPU_PROF;
const serverNodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
const CLIENT_CPU = '1';

interface Endpoint {
  endpoint: string;
}

interface UploadedObject {
  key: string;
  etag: string;
  size: number;
  contentType: string;
  width: number;
  height: number;
  /** The upload ticket stored with the object (`x-oss-meta-upcall-ticket`), and sent in its callback. */
  ticket: string;
}

/** Alice's ticket, as the token function would issue it: stored with the object and carried by its callback. */
async function aliceTicket(): Promise<string> {
  const { token } = await issueUploadTicket(
    { userId: 'alice', keyPrefix: 'uploads/alice/', maxBytes: 50_000_000, contentTypes: ['image/*'] },
    parseTicketKeyring(TICKET_KEYS),
    { ttlSeconds: 3600 },
  );
  return token;
}

interface Measured extends LoadResult {
  /** Share of one core used by each process during the measured window. */
  cpu: Record<string, number>;
}

const child = (file: string) => beside(import.meta.url, file);

/** A signed callback for `object`, as OSS would send it after the user's upload, ready for autocannon. */
async function signedCallback(
  object: UploadedObject,
  signingKey: ReturnType<typeof generateCallbackSigningKey>,
  keyUrl: string,
): Promise<Pick<LoadOptions, 'headers' | 'body'>> {
  const request = signedCallbackRequest(
    signingKey.privateKey,
    keyUrl,
    {
      bucket: BUCKET,
      object: object.key,
      etag: object.etag,
      size: String(object.size),
      mimeType: object.contentType,
      'imageInfo.width': String(object.width),
      'imageInfo.height': String(object.height),
      'imageInfo.format': 'jpg',
      ticket: object.ticket,
    },
    { path: CALLBACK_PATH },
  );
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { headers, body: Buffer.from(request.body).toString('base64') };
}

function callbackEnv(
  oss: string,
  fc: string,
  trusted: { urlPrefix: string; publicKeyPem: string },
  credentials: RoleCredentials,
): NodeJS.ProcessEnv {
  return {
    UPCALL_BUCKET: BUCKET,
    UPCALL_REGION: 'cn-hangzhou',
    UPCALL_OSS_ENDPOINT: oss,
    UPCALL_FC_ENDPOINT: fc,
    UPCALL_TICKET_KEYS: TICKET_KEYS,
    UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: trusted.urlPrefix,
    UPCALL_CALLBACK_TRUSTED_KEY_PEM: trusted.publicKeyPem,
    UPCALL_BENCH_CREDENTIALS: JSON.stringify(credentials),
    UPCALL_LOG_LEVEL: 'info',
  };
}

type LoadGenerator = BenchChild<unknown>;

async function load(
  generator: LoadGenerator,
  url: string,
  request: Pick<LoadOptions, 'headers' | 'body'>,
  seconds: number,
  pids: Record<string, number | undefined>,
): Promise<Measured> {
  const options: LoadOptions = {
    url,
    method: 'POST',
    ...request,
    connections: CONNECTIONS,
    durationSeconds: seconds,
  };
  const { value, cores } = await cpuShare({ ...pids, autocannon: generator.process.pid }, () =>
    generator.ask<LoadResult>(options),
  );
  if (value.non2xx > 0 || value.errors > 0 || value.timeouts > 0) {
    throw new Error(
      `${url}: ${value.non2xx} non-2xx answers, ${value.errors} errors, ${value.timeouts} timeouts of ${value.requests}`,
    );
  }
  return { ...value, cpu: cores };
}

/** Settle, then measure; the figures of the measured window only. */
async function measure(
  context: BenchContext,
  generator: LoadGenerator,
  label: string,
  url: string,
  request: Pick<LoadOptions, 'headers' | 'body'>,
  pids: Record<string, number | undefined>,
): Promise<Measured> {
  await load(generator, url, request, SETTLE_SECONDS, pids);
  const result = await load(generator, url, request, context.quick ? 2 : MEASURE_SECONDS, pids);
  context.log(
    `  ${label}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.latencyP99Ms} ms, cpu ${JSON.stringify(result.cpu)}`,
  );
  return result;
}

function averaged(runs: Measured[]): Measured {
  const first = runs[0] as Measured;
  return {
    ...first,
    requestsPerSecond: mean(runs.map((r) => r.requestsPerSecond)),
    latencyP50Ms: mean(runs.map((r) => r.latencyP50Ms)),
    latencyP99Ms: mean(runs.map((r) => r.latencyP99Ms)),
    latencyMaxMs: Math.max(...runs.map((r) => r.latencyMaxMs)),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    cpu: Object.fromEntries(
      Object.keys(first.cpu).map((name) => [name, round(mean(runs.map((r) => r.cpu[name] ?? 0)))]),
    ),
  };
}

/** A server under test, and the processes serving its outbound calls (their CPU is reported too). */
interface Contender {
  label: string;
  server: BenchChild<Endpoint>;
  upstream: Record<string, number | undefined>;
}

/** A contender's windows, one per round, and their average. */
interface Rounds {
  rounds: Measured[];
  average: Measured;
}

/**
 * Warm each contender up, then measure them in turn, round after round, every other round in reverse order (so no
 * contender always follows the same one): a slow patch of the shared machine hits the contenders of a round alike.
 */
async function alternate(
  context: BenchContext,
  generator: LoadGenerator,
  request: Pick<LoadOptions, 'headers' | 'body'>,
  contenders: Contender[],
): Promise<Rounds[]> {
  const targets = contenders.map(({ label, server, upstream }, index) => ({
    index,
    label,
    url: `${server.ready.endpoint}${CALLBACK_PATH}`,
    pids: { server: server.process.pid, ...upstream },
  }));
  for (const { url, pids } of targets) {
    await load(generator, url, request, context.quick ? 1 : WARM_UP_SECONDS, pids);
  }
  const runs = contenders.map((): Measured[] => []);
  for (let round = 0; round < (context.quick ? 2 : ROUNDS); round++) {
    for (const { index, label, url, pids } of round % 2 === 0 ? targets : [...targets].reverse()) {
      runs[index]?.push(await measure(context, generator, label, url, request, pids));
    }
  }
  return runs.map((rounds) => ({ rounds, average: averaged(rounds) }));
}

/** The server's CPU per request, in µs. */
const cpuPerRequest = (m: Measured) => ((m.cpu.server ?? Number.NaN) / m.requestsPerSecond) * 1e6;

/** Per round: the callback's req/s ÷ the floor's, and the floor's CPU per request ÷ the callback's. */
function pairedRatios(floor: Rounds, callback: Rounds): { throughput: number[]; cpu: number[] } {
  const pairs = callback.rounds.map((run, round) => [floor.rounds[round] as Measured, run] as const);
  return {
    throughput: pairs.map(([f, c]) => c.requestsPerSecond / f.requestsPerSecond),
    cpu: pairs.map(([f, c]) => cpuPerRequest(f) / cpuPerRequest(c)),
  };
}

/** Headers node:http adds to every answer by itself (the floor's server adds its own). */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/**
 * What the floor repeats: one callback sent to the callback server, its answer as it came, and the two calls it made
 * as the responder received them.
 */
async function floorScript(
  callback: BenchChild<Endpoint>,
  responder: BenchChild<Endpoint>,
  request: Pick<LoadOptions, 'headers' | 'body'>,
): Promise<FloorScript> {
  const answer = await fetch(`${callback.ready.endpoint}${CALLBACK_PATH}`, {
    method: 'POST',
    headers: request.headers,
    body: Buffer.from(request.body, 'base64'),
  });
  const body = Buffer.from(await answer.arrayBuffer());
  if (answer.status !== 200) throw new Error(`the callback answered ${answer.status}: ${body}`);
  const headers = Object.fromEntries([...answer.headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)));
  const calls = await responder.ask<Partial<FloorScript>>('captured');
  if (!calls.head || !calls.invoke) throw new Error('the callback made no HeadObject or no InvokeFunction');
  return {
    head: calls.head,
    invoke: calls.invoke,
    answer: { status: 200, headers, body: body.toString('base64') },
  };
}

/** Bare vs callback against the minimal responder. */
async function minimalRun(context: BenchContext, generator: LoadGenerator) {
  const object: UploadedObject = {
    key: 'uploads/alice/photo.jpg',
    etag: '5B8A4E5C1F0A3D2E9C7B6A5F4E3D2C1B',
    size: 4_812_345,
    contentType: 'image/jpeg',
    width: 4000,
    height: 3000,
    ticket: await aliceTicket(),
  };
  const signingKey = generateCallbackSigningKey();
  const trusted = { urlPrefix: 'http://127.0.0.1/bench-keys/', publicKeyPem: signingKey.publicKeyPem };
  const request = await signedCallback(object, signingKey, `${trusted.urlPrefix}callback.pem`);
  const credentials = { accessKeyId: 'bench-key-id', accessKeySecret: 'bench-key-secret' };

  const responder = await startChild<Endpoint>(child('./callback/responder.ts'), [JSON.stringify(object)], {
    cpus: CLIENT_CPU,
  });
  const bare = await startChild<Endpoint>(child('./callback/bare.ts'), [], { cpus: SERVER_CPU });
  const callback = await startChild<Endpoint>(child('./lib/function-server.ts'), ['callback'], {
    cpus: SERVER_CPU,
    nodeArgs: serverNodeArgs,
    env: callbackEnv(responder.ready.endpoint, responder.ready.endpoint, trusted, credentials),
  });
  const script = await floorScript(callback, responder, request);
  const floor = await startChild<Endpoint>(
    child('./callback/floor.ts'),
    [responder.ready.endpoint, responder.ready.endpoint, JSON.stringify(script)],
    { cpus: SERVER_CPU, nodeArgs: serverNodeArgs },
  );
  try {
    const upstream = { responder: responder.process.pid };
    const [bareRun, floorRun, callbackRun] = await alternate(context, generator, request, [
      { label: 'bare', server: bare, upstream: {} },
      { label: 'floor', server: floor, upstream },
      { label: 'callback', server: callback, upstream },
    ]);
    return { bare: bareRun as Rounds, floor: floorRun as Rounds, callback: callbackRun as Rounds, script };
  } finally {
    await Promise.all([bare.stop(), floor.stop(), callback.stop(), responder.stop()]);
  }
}

/**
 * The callback against the whole local cloud (OSS and FC stand-ins in one process on CPU 1), beside the floor server
 * repeating the callback's two calls (captured against the responder) to the same cloud: signed for another endpoint
 * and time, so the cloud refuses them — the floor's own cost is the same.
 */
async function localCloudRun(context: BenchContext, generator: LoadGenerator, script: FloorScript) {
  const dataDir = join(context.scratch, 'callback-cloud');
  await mkdir(dataDir, { recursive: true });
  const cloud = await startChild<{ info: StackInfo; credentials: RoleCredentials; object: UploadedObject }>(
    child('./callback/cloud.ts'),
    [dataDir, BUCKET, await aliceTicket()],
    { cpus: CLIENT_CPU, env: { UPCALL_LOG_LEVEL: 'warn' } },
  );
  const { info, credentials, object } = cloud.ready;
  const signingKey = loadOrCreateCallbackSigningKey(join(dataDir, 'keys', 'callback.pem'));
  const request = await signedCallback(object, signingKey, info.oss.publicKeyUrl);
  const trusted = { urlPrefix: info.oss.trustedKeyUrlPrefix, publicKeyPem: info.oss.publicKeyPem };
  const floor = await startChild<Endpoint>(
    child('./callback/floor.ts'),
    [info.oss.endpoint, info.fc.endpoint, JSON.stringify(script)],
    { cpus: SERVER_CPU },
  );
  const callback = await startChild<Endpoint>(child('./lib/function-server.ts'), ['callback'], {
    cpus: SERVER_CPU,
    env: callbackEnv(info.oss.endpoint, info.fc.endpoint, trusted, credentials),
  });
  try {
    const upstream = { cloud: cloud.process.pid };
    const [floorRun, callbackRun] = await alternate(context, generator, request, [
      { label: 'floor + local cloud', server: floor, upstream },
      { label: 'callback + local cloud', server: callback, upstream },
    ]);
    return { floor: floorRun as Rounds, callback: callbackRun as Rounds };
  } finally {
    await Promise.all([floor.stop(), callback.stop(), cloud.stop()]);
  }
}

export const callbackBench: Bench = {
  name: 'callback',
  title: 'Callback path under load (autocannon, 64 connections) vs its floor and a bare node:http server',
  async run(context) {
    const generator = await startChild(child('./lib/load.ts'), [], { cpus: CLIENT_CPU });
    let runs: Awaited<ReturnType<typeof minimalRun>>;
    let full: Awaited<ReturnType<typeof localCloudRun>>;
    try {
      runs = await minimalRun(context, generator);
      full = await localCloudRun(context, generator, runs.script);
    } finally {
      await generator.stop();
    }
    const [bare, floor, callback] = [runs.bare.average, runs.floor.average, runs.callback.average];
    const [fullFloor, fullCallback] = [full.floor.average, full.callback.average];
    const ratio = callback.requestsPerSecond / bare.requestsPerSecond;
    // The server's CPU per request is reported beside req/s: it is the figure least disturbed by a busy load
    // generator (a floor held back by a shared one is not saturated, which flatters the req/s ratio).
    const minimal = pairedRatios(runs.floor, runs.callback);
    const cloud = pairedRatios(full.floor, full.callback);
    const [vsFloor, cpuVsFloor] = [median(minimal.throughput), median(minimal.cpu)];
    const [vsFloorCloud, cpuVsFloorCloud] = [median(cloud.throughput), median(cloud.cpu)];
    const spread = (ratios: number[]) =>
      `${round(median(ratios))} (rounds: ${ratios.map((r) => round(r)).join(', ')})`;
    const row = (name: string, m: Measured, floorOf: Measured = floor) => [
      name,
      Math.round(m.requestsPerSecond),
      round(m.requestsPerSecond / bare.requestsPerSecond),
      round(m.requestsPerSecond / floorOf.requestsPerSecond),
      m.latencyP50Ms,
      round(m.latencyP99Ms, 1),
      Math.round(cpuPerRequest(m)),
      Object.entries(m.cpu)
        .map(([name, cores]) => `${name} ${cores}`)
        .join(', '),
    ];
    const measured = context.quick ? 2 : MEASURE_SECONDS;
    const rounds = context.quick ? 2 : ROUNDS;
    const markdown = [
      `Process layout: the server under test alone on CPU 0 (\`taskset -c ${SERVER_CPU}\`); autocannon and the callback's outbound side on CPU 1 (\`taskset -c ${CLIENT_CPU}\`). ${CONNECTIONS} connections. Each server is warmed up once (${context.quick ? 1 : WARM_UP_SECONDS} s); then bare, floor and callback take turns for ${rounds} rounds (every other round in reverse order), each window ${measured} s measured after ${SETTLE_SECONDS} s of load. The table averages the rounds; the headline ratios are the median of the rounds' paired ratios (a floor and a callback measured seconds apart share the machine's drift). "Floor" is node:http repeating the callback's two outbound calls byte for byte (its HeadObject and InvokeFunction, captured by the responder from the callback's first request) and answering the callback's own answer, with no logic at all: the most the callback could reach. One valid signed callback is replayed (FC answers the repeated task id 409, which the callback counts as queued: same work, same answer).`,
      '',
      table(
        ['Server', 'req/s', '÷ bare', '÷ floor', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'CPU used (cores)'],
        [
          row('bare node:http `{}`', bare),
          row('floor: node:http + the same two outbound calls and answer, no logic', floor),
          row('callback, minimal responder', callback),
          row('floor, full local cloud', fullFloor, fullFloor),
          row('callback, full local cloud', fullCallback, fullFloor),
        ],
      ),
      '',
      `\`callbackVsFloor\` (median of paired rounds) = ${spread(minimal.throughput)}: ${verdict(vsFloor >= 0.33, '≥ 0.33')}; with the full local cloud ${spread(cloud.throughput)}: ${verdict(vsFloorCloud >= 0.33, '≥ 0.33')}. By the server's CPU per request (\`callbackCpuVsFloor\`, floor ÷ callback): ${spread(minimal.cpu)} against the minimal responder, ${spread(cloud.cpu)} against the full local cloud. \`callbackVsBare\` = ${round(ratio, 3)}; \`callbackP99Ms\` = ${round(callback.latencyP99Ms, 1)} (64 connections queueing on one core).`,
    ].join('\n');
    return {
      summary: {
        callbackVsFloor: { 'minimal responder': round(vsFloor), 'full local cloud': round(vsFloorCloud) },
        callbackCpuVsFloor: {
          'minimal responder': round(cpuVsFloor),
          'full local cloud': round(cpuVsFloorCloud),
        },
        callbackVsBare: round(ratio, 3),
        callbackP99Ms: round(callback.latencyP99Ms, 1),
      },
      details: {
        connections: CONNECTIONS,
        rounds: { minimal, fullLocalCloud: cloud },
        bare,
        floor,
        callback,
        floorLocalCloud: fullFloor,
        callbackLocalCloud: fullCallback,
      },
      markdown,
    };
  },
};
