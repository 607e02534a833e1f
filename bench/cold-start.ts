/**
 * Cold start and size of each built function: `npm run build`'s output (built by the same code into a scratch
 * directory), each `index.js` required in a fresh `node` from a copy of its directory alone, as FC loads it. The
 * HTTP functions are then asked one request, so the figure after the `require` includes building the app from its
 * settings (schemas, keys, clients) — what the first caller of a new instance waits for on top of the runtime.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFunctions, type FunctionName } from '../scripts/build.js';
import { type Bench, table, verdict } from './lib/bench.js';
import { median, round } from './lib/stats.js';

const run = promisify(execFile);
const MB = 1_000_000;

/** Loads `index.js`, then (HTTP functions) answers one FC HTTP event; prints both times in ms. */
const LOADER = `
const started = performance.now();
const { handler } = require(process.argv[1] + '/index.js');
const loaded = performance.now();
const http = process.argv[2] === 'http';
const event = Buffer.from(JSON.stringify({ version: 'v1', rawPath: '/', headers: {}, queryParameters: {},
  body: '', isBase64Encoded: false, requestContext: { requestId: 'r-1', http: { method: 'POST', path: '/' } } }));
Promise.resolve(http ? handler(event, { requestId: 'r-1' }) : undefined).then((answer) => {
  process.stdout.write(JSON.stringify({ requireMs: loaded - started, firstAnswerMs: performance.now() - started,
    status: answer && answer.statusCode }));
});
`;

/** Settings that let each HTTP function build its app (no network is touched by a refused request). */
const SETTINGS: Record<string, string> = {
  UPCALL_BUCKET: 'upcall-bench',
  UPCALL_TICKET_KEYS: `k1:${'c'.repeat(40)}`,
  UPCALL_JWT_SECRET: 's'.repeat(40),
  UPCALL_UPLOAD_ROLE_ARN: 'acs:ram::1234567890:role/upcall-uploader',
  UPCALL_CALLBACK_URL: 'https://callback.example.com/',
  UPCALL_FC_ENDPOINT: 'https://1234567890.cn-hangzhou-internal.fc.aliyuncs.com',
  UPCALL_LOG_LEVEL: 'silent',
};

const HTTP_FUNCTIONS: FunctionName[] = ['token', 'callback'];

export const coldStartBench: Bench = {
  name: 'cold-start',
  title: 'Cold start (require in a fresh node) and bundle size of each built function',
  async run(context) {
    const outRoot = join(context.scratch, 'dist');
    const reports = await buildFunctions(outRoot);
    const runs = context.quick ? 3 : 10;
    const rows: Array<{
      name: FunctionName;
      bundleBytes: number;
      requireMs: number;
      /** Median of require ÷ the paired bare node process. */
      vsNode: number;
      firstAnswerMs?: number;
      processMs: number;
    }> = [];
    const timedNode = async (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
      const started = performance.now();
      const { stdout } = await run(process.execPath, args, options);
      return { stdout, ms: performance.now() - started };
    };
    const emptyProcess: number[] = [];
    const samples = new Map<
      FunctionName,
      Array<{ requireMs: number; firstAnswerMs: number; processMs: number; vsNode: number; status?: number }>
    >(reports.map((report) => [report.name, []]));
    // In pairs, A B A B…: a bare node start, then each function's require, so both see the same machine.
    for (let i = 0; i < runs; i++) {
      for (const report of reports) {
        const bare = (await timedNode(['-e', ''])).ms;
        emptyProcess.push(bare);
        const dir = join(outRoot, report.name);
        const http = HTTP_FUNCTIONS.includes(report.name);
        const { stdout, ms } = await timedNode(['-e', LOADER, dir, http ? 'http' : 'event'], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', ...SETTINGS },
        });
        const sample = JSON.parse(stdout) as { requireMs: number; firstAnswerMs: number; status?: number };
        samples.get(report.name)?.push({ ...sample, processMs: ms, vsNode: sample.requireMs / bare });
      }
    }
    for (const report of reports) {
      const http = HTTP_FUNCTIONS.includes(report.name);
      const own = samples.get(report.name) ?? [];
      const statuses = new Set(own.map((s) => s.status));
      if (http && (statuses.size !== 1 || ![401, 403].includes(own[0]?.status ?? 0))) {
        throw new Error(
          `${report.name}: the first request should be refused for lack of credentials, got ${[...statuses]}`,
        );
      }
      rows.push({
        name: report.name,
        bundleBytes: report.bundleBytes,
        requireMs: median(own.map((s) => s.requireMs)),
        vsNode: median(own.map((s) => s.vsNode)),
        ...(http ? { firstAnswerMs: median(own.map((s) => s.firstAnswerMs)) } : {}),
        processMs: median(own.map((s) => s.processMs)),
      });
      context.log(
        `  ${report.name}: ${round(report.bundleBytes / MB, 2)} MB, require ${round(rows.at(-1)!.requireMs, 1)} ms (${round(rows.at(-1)!.vsNode)}× node)`,
      );
    }
    const coldStartMs = Object.fromEntries(rows.map((r) => [r.name, round(r.requireMs, 1)]));
    const coldStartVsNode = Object.fromEntries(rows.map((r) => [r.name, round(r.vsNode)]));
    const bundleBytes = Object.fromEntries(rows.map((r) => [r.name, r.bundleBytes]));
    const httpRows = rows.filter((r) => HTTP_FUNCTIONS.includes(r.name));
    const markdown = [
      `Built with \`npm run build\`'s code; each function's directory required in a fresh \`node\` (${process.version}) with only its settings in the environment; median of ${runs}, each run paired with a whole empty \`node -e ''\` process just before it (${round(median(emptyProcess), 0)} ms here, which the runtime pays whatever the bundle); "÷ node" is the median of each pair's require ÷ that process. "First answer" = require + building the app from its settings + answering one unauthenticated request.`,
      '',
      table(
        ['Function', 'index.js', 'require ms', '÷ node', 'require + first answer ms', 'whole process ms'],
        rows.map((r) => [
          r.name,
          `${round(r.bundleBytes / MB, 2)} MB (${r.bundleBytes} B)`,
          round(r.requireMs, 1),
          round(r.vsNode),
          r.firstAnswerMs === undefined ? '—' : round(r.firstAnswerMs, 1),
          round(r.processMs, 0),
        ]),
      ),
      '',
      ...httpRows.map(
        (r) =>
          `${r.name}: cold start ${verdict(r.requireMs < 150, '< 150 ms')}, \`coldStartVsNode\` ${round(r.vsNode)} ${verdict(r.vsNode <= 1, '≤ 1.0')}, bundle ${verdict(r.bundleBytes < 1.5 * MB, '< 1.5 MB')}.`,
      ),
    ].join('\n');
    return {
      summary: { coldStartMs, coldStartVsNode, bundleBytes },
      details: { runs, emptyProcessMs: median(emptyProcess), functions: rows },
      markdown,
    };
  },
};
