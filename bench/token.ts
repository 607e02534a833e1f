/**
 * Token grants under load, side by side in one run: the grants signed with the token function's own role (`form`,
 * `put`: no AssumeRole) against `credentials` (one AssumeRole per grant, against the local STS with STS's quota of
 * 100 calls per second on). Same layout as the callback bench:
 *
 *   CPU 0: the token function (node:http edge, logs on stdout as on FC) — alone.
 *   CPU 1: autocannon (64 connections, one user's JWT, fixed duration) and the local cloud (STS, OSS).
 *
 * Each grant runs twice, alternating (form, put, credentials, form, …), after a warm-up, and is averaged. The STS's
 * own counters (`/_local/stats`) say how many AssumeRole calls each run cost and how many the quota refused.
 *
 * Then the mix the product meets: `MIX_USERS` users, each asking for a form grant, a presigned PUT and — as the stock
 * mobile providers do — credentials by GET, every connection looping over all of them. A user's STS credentials are
 * reused within the instance, so after a warm-up that has met every user once (at the quota's pace) the mix needs
 * AssumeRole only when a session passes half its lifetime. Errors include GET answers whose mobile `StatusCode` is not
 * 200 (the HTTP status of those is always 200).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { StackInfo } from '../local/cloud.js';
import type { RoleCredentials } from '../shared/http/edge.js';
import { type Bench, type BenchContext, table, verdict } from './lib/bench.js';
import { type BenchChild, beside, startChild } from './lib/child.js';
import { cpuShare } from './lib/cpu.js';
import type { LoadOptions, LoadRequest, LoadResult } from './lib/load.js';
import { mean, round } from './lib/stats.js';

const BUCKET = 'upcall-bench';
const TICKET_KEYS = `k1:${'b'.repeat(40)}`;
const JWT_SECRET = 'bench-jwt-secret-of-at-least-32-characters';
const CONNECTIONS = 64;
/** STS's AssumeRole quota per account (STS quota page: `AssumeRole 100/1(s)`). */
const STS_QUOTA_PER_SECOND = 100;
const SERVER_CPU = '0';
const CLIENT_CPU = '1';
/** `UPCALL_BENCH_CPU_PROF=<dir>`: profile the token server (`node --cpu-prof`) to find where its time goes. */
const PROFILE_DIR = process.env.UPCALL_BENCH_CPU_PROF;
/** At least this many grants per second of the grants that need no AssumeRole, and of the mix. */
const TOKEN_GRANTS_TARGET = 2000;
/** Distinct users in the mix. */
const MIX_USERS = 300;
/** At most this many AssumeRole calls per grant of the mix. */
const MIX_ASSUME_ROLE_PER_GRANT_TARGET = 0.05;

const GRANTS = [
  {
    name: 'form',
    body: { grant: 'form', contentType: 'image/jpeg', fileName: 'photo.jpg' },
    assumesRole: false,
  },
  {
    name: 'put',
    body: { grant: 'put', contentType: 'image/jpeg', fileName: 'photo.jpg' },
    assumesRole: false,
  },
  { name: 'credentials', body: { grant: 'credentials' }, assumesRole: true },
] as const;
type GrantName = (typeof GRANTS)[number]['name'];

interface StsStats {
  AssumeRole: number;
  throttled: number;
}

interface Measured extends LoadResult {
  /** 2xx answers per second: grants made. */
  grantsPerSecond: number;
  /** AssumeRole calls STS served and refused during the run. */
  sts: StsStats;
  /** Share of one core used by each process during the measured window. */
  cpu: Record<string, number>;
}

const child = (file: string) => beside(import.meta.url, file);

function tokenEnv(info: StackInfo, credentials: RoleCredentials): NodeJS.ProcessEnv {
  return {
    UPCALL_REGION: info.region,
    UPCALL_BUCKET: BUCKET,
    UPCALL_OSS_PUBLIC_ENDPOINT: info.oss.endpoint,
    UPCALL_OSS_ENDPOINT: info.oss.endpoint,
    UPCALL_TICKET_KEYS: TICKET_KEYS,
    UPCALL_JWT_SECRET: JWT_SECRET,
    UPCALL_UPLOAD_ROLE_ARN: info.roles.uploader,
    UPCALL_STS_ENDPOINT: info.sts.endpoint,
    UPCALL_CALLBACK_URL: 'https://callback.example.com/oss-callback',
    UPCALL_BENCH_CREDENTIALS: JSON.stringify(credentials),
    UPCALL_LOG_LEVEL: 'info',
  };
}

interface Rig {
  generator: BenchChild<unknown>;
  cloud: BenchChild<{ info: StackInfo; credentials: RoleCredentials }>;
  server: BenchChild<{ endpoint: string }>;
  authorization: string;
  /** The mix: per user a form POST, a put POST and a mobile GET. */
  mix: LoadRequest[];
}

interface MixMeasured extends LoadResult {
  grantsPerSecond: number;
  grantErrorRate: number;
  assumeRolePerGrant: number;
  sts: StsStats;
}

async function loadMix(rig: Rig, seconds: number): Promise<MixMeasured> {
  const options: LoadOptions = {
    url: rig.server.ready.endpoint,
    method: 'POST',
    headers: {},
    body: '',
    requests: rig.mix,
    connections: CONNECTIONS,
    durationSeconds: seconds,
  };
  const before = await rig.cloud.ask<StsStats>('stats');
  const value = await rig.generator.ask<LoadResult>(options);
  const after = await rig.cloud.ask<StsStats>('stats');
  const failed = value.non2xx + value.errors + value.timeouts + value.mobileErrors;
  const grants = value.requests - failed;
  const sts = {
    AssumeRole: after.AssumeRole - before.AssumeRole,
    throttled: after.throttled - before.throttled,
  };
  return {
    ...value,
    grantsPerSecond: (value.requestsPerSecond * grants) / value.requests,
    grantErrorRate: failed / value.requests,
    assumeRolePerGrant: grants === 0 ? 0 : sts.AssumeRole / grants,
    sts,
  };
}

async function load(rig: Rig, grant: (typeof GRANTS)[number], seconds: number): Promise<Measured> {
  const options: LoadOptions = {
    url: rig.server.ready.endpoint,
    method: 'POST',
    headers: { authorization: rig.authorization, 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(grant.body)).toString('base64'),
    connections: CONNECTIONS,
    durationSeconds: seconds,
  };
  const before = await rig.cloud.ask<StsStats>('stats');
  const { value, cores } = await cpuShare(
    { server: rig.server.process.pid, autocannon: rig.generator.process.pid, cloud: rig.cloud.process.pid },
    () => rig.generator.ask<LoadResult>(options),
  );
  const after = await rig.cloud.ask<StsStats>('stats');
  // Only STS's throttling may refuse a grant, and only one that assumes a role.
  const refused = Object.entries(value.statusCodes).filter(
    ([status]) => !status.startsWith('2') && !(grant.assumesRole && status === '503'),
  );
  if (refused.length > 0 || value.errors > 0 || value.timeouts > 0) {
    throw new Error(
      `${grant.name}: answers ${JSON.stringify(value.statusCodes)}, ${value.errors} errors, ${value.timeouts} timeouts`,
    );
  }
  return {
    ...value,
    grantsPerSecond: (value.requestsPerSecond * (value.requests - value.non2xx)) / value.requests,
    sts: { AssumeRole: after.AssumeRole - before.AssumeRole, throttled: after.throttled - before.throttled },
    cpu: cores,
  };
}

function averaged(runs: Measured[]): Measured {
  const first = runs[0] as Measured;
  const sum = (pick: (m: Measured) => number) => runs.reduce((total, m) => total + pick(m), 0);
  return {
    ...first,
    requestsPerSecond: mean(runs.map((r) => r.requestsPerSecond)),
    grantsPerSecond: mean(runs.map((r) => r.grantsPerSecond)),
    latencyP50Ms: mean(runs.map((r) => r.latencyP50Ms)),
    latencyP99Ms: mean(runs.map((r) => r.latencyP99Ms)),
    latencyMaxMs: Math.max(...runs.map((r) => r.latencyMaxMs)),
    requests: sum((r) => r.requests),
    non2xx: sum((r) => r.non2xx),
    sts: { AssumeRole: sum((r) => r.sts.AssumeRole), throttled: sum((r) => r.sts.throttled) },
    cpu: Object.fromEntries(
      Object.keys(first.cpu).map((name) => [name, round(mean(runs.map((r) => r.cpu[name] ?? 0)))]),
    ),
  };
}

async function startRig(context: BenchContext): Promise<Rig> {
  const dataDir = join(context.scratch, 'token-cloud');
  await mkdir(dataDir, { recursive: true });
  const cloud = await startChild<{ info: StackInfo; credentials: RoleCredentials }>(
    child('./token/cloud.ts'),
    [dataDir, BUCKET, String(STS_QUOTA_PER_SECOND)],
    { cpus: CLIENT_CPU, env: { UPCALL_LOG_LEVEL: 'warn' } },
  );
  const server = await startChild<{ endpoint: string }>(child('./lib/function-server.ts'), ['token'], {
    cpus: SERVER_CPU,
    nodeArgs: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [],
    env: tokenEnv(cloud.ready.info, cloud.ready.credentials),
  });
  const generator = await startChild(child('./lib/load.ts'), [], { cpus: CLIENT_CPU });
  const jwtFor = (user: string) =>
    new SignJWT({ sub: user })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(new TextEncoder().encode(JWT_SECRET));
  const jwt = await jwtFor('alice');
  const mix: LoadRequest[] = [];
  for (let n = 0; n < MIX_USERS; n++) {
    const userJwt = await jwtFor(`user-${n}`);
    const headers = { authorization: `Bearer ${userJwt}`, 'content-type': 'application/json' };
    for (const grant of GRANTS.filter((g) => !g.assumesRole)) {
      mix.push({
        method: 'POST',
        path: '/',
        headers,
        body: Buffer.from(JSON.stringify(grant.body)).toString('base64'),
      });
    }
    mix.push({ method: 'GET', path: `/?access_token=${userJwt}`, headers: {} });
  }
  return { generator, cloud, server, authorization: `Bearer ${jwt}`, mix };
}

export const tokenBench: Bench = {
  name: 'token',
  title: `Token grants per second (autocannon, ${CONNECTIONS} connections): form and put (no AssumeRole) vs credentials (AssumeRole, reused per user; STS quota ${STS_QUOTA_PER_SECOND}/s), and the mix over ${MIX_USERS} users`,
  async run(context) {
    const rig = await startRig(context);
    const runs = new Map<GrantName, Measured[]>(GRANTS.map((grant) => [grant.name, []]));
    let mixResult: MixMeasured | undefined;
    const seconds = context.quick ? 3 : 10;
    try {
      for (let round = 0; round < 2; round++) {
        for (const grant of GRANTS) {
          await load(rig, grant, context.quick ? 1 : 2);
          const result = await load(rig, grant, seconds);
          context.log(
            `  ${grant.name}: ${Math.round(result.grantsPerSecond)} grants/s of ${Math.round(result.requestsPerSecond)} answers/s, p99 ${result.latencyP99Ms} ms, STS ${JSON.stringify(result.sts)}, cpu ${JSON.stringify(result.cpu)}`,
          );
          runs.get(grant.name)?.push(result);
        }
      }
      // Warm-up: every user meets STS once, at the quota's pace (their GETs past the quota are refused, retryably).
      await loadMix(rig, Math.ceil(MIX_USERS / STS_QUOTA_PER_SECOND) + 3);
      mixResult = await loadMix(rig, seconds);
      context.log(
        `  mix: ${Math.round(mixResult.grantsPerSecond)} grants/s, error rate ${mixResult.grantErrorRate}, AssumeRole/grant ${round(mixResult.assumeRolePerGrant, 4)}, p99 ${mixResult.latencyP99Ms} ms`,
      );
    } finally {
      await Promise.all([rig.generator.stop(), rig.server.stop(), rig.cloud.stop()]);
    }
    const results = Object.fromEntries(
      GRANTS.map((grant) => [grant.name, averaged(runs.get(grant.name) ?? [])]),
    ) as Record<GrantName, Measured>;
    const perSecond = Object.fromEntries(
      GRANTS.map((grant) => [grant.name, Math.round(results[grant.name].grantsPerSecond)]),
    ) as Record<GrantName, number>;
    const row = (name: GrantName) => {
      const m = results[name];
      const grants = m.requests - m.non2xx;
      return [
        `\`${name}\``,
        Math.round(m.grantsPerSecond),
        Math.round(m.requestsPerSecond - m.grantsPerSecond),
        round(m.latencyP50Ms, 1),
        round(m.latencyP99Ms, 1),
        `${m.sts.AssumeRole} / ${m.sts.throttled}`,
        grants === 0 ? '—' : round(m.sts.AssumeRole / grants, 3),
        // The server's CPU per answer: the figure least disturbed by a busy machine.
        Math.round(((m.cpu.server ?? Number.NaN) / m.requestsPerSecond) * 1e6),
        Object.entries(m.cpu)
          .map(([process, cores]) => `${process} ${cores}`)
          .join(', '),
      ];
    };
    const slowest = Math.min(perSecond.form, perSecond.put);
    if (!mixResult) throw new Error('the mix did not run');
    const mix = {
      grantsPerSecond: Math.round(mixResult.grantsPerSecond),
      grantErrorRate: round(mixResult.grantErrorRate, 4),
      assumeRolePerGrant: round(mixResult.assumeRolePerGrant, 4),
      grantP99Ms: round(mixResult.latencyP99Ms, 1),
    };
    const markdown = [
      `Process layout: the token function alone on CPU 0 (\`taskset -c ${SERVER_CPU}\`); autocannon and the local cloud (STS with its AssumeRole quota at ${STS_QUOTA_PER_SECOND}/s, OSS) on CPU 1 (\`taskset -c ${CLIENT_CPU}\`). ${CONNECTIONS} connections, one user's JWT, ${seconds} s measured after a warm-up; the grants alternate twice and are averaged. "Refused/s" are STS's throttling answered as 503 \`StsThrottled\` with \`Retry-After\`; no other failure is accepted.`,
      '',
      table(
        [
          'Grant',
          'grants/s',
          'refused/s',
          'p50 ms',
          'p99 ms',
          'AssumeRole served / throttled',
          'AssumeRole per grant',
          'server CPU µs/answer',
          'CPU used (cores)',
        ],
        GRANTS.map((grant) => row(grant.name)),
      ),
      '',
      `The mix: ${MIX_USERS} users, each a form grant, a presigned PUT and a mobile GET for credentials, looped by every connection, ${seconds} s after a warm-up that met every user once: **${mix.grantsPerSecond} grants/s**, \`grantErrorRate\` ${mix.grantErrorRate}, \`assumeRolePerGrant\` ${mix.assumeRolePerGrant}, \`grantP99Ms\` ${mix.grantP99Ms} — ${verdict(mix.grantsPerSecond >= TOKEN_GRANTS_TARGET && mix.grantErrorRate === 0 && mix.assumeRolePerGrant <= MIX_ASSUME_ROLE_PER_GRANT_TARGET, `≥ ${TOKEN_GRANTS_TARGET}/s, no errors, ≤ ${MIX_ASSUME_ROLE_PER_GRANT_TARGET} AssumeRole per grant`)}.`,
      '',
      `\`tokenGrantsPerSecond\` form ${perSecond.form}, put ${perSecond.put}: ${verdict(slowest >= TOKEN_GRANTS_TARGET, `≥ ${TOKEN_GRANTS_TARGET}/s without AssumeRole`)}; credentials ${perSecond.credentials} for one user, whose session is reused after its first AssumeRole; sessions for new users are bounded by the STS quota for the whole account, whatever the function's capacity.`,
    ].join('\n');
    return {
      summary: { tokenGrantsPerSecond: perSecond, ...mix },
      details: {
        connections: CONNECTIONS,
        stsQuotaPerSecond: STS_QUOTA_PER_SECOND,
        mixUsers: MIX_USERS,
        mix: mixResult,
        ...results,
      },
      markdown,
    };
  },
};
