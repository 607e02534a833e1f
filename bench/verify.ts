/** Callback signature verification alone: verifications per second on one core, reused key vs parse-per-call. */
import { type Bench, table, verdict } from './lib/bench.js';
import { beside, runChild } from './lib/child.js';
import { round } from './lib/stats.js';
import type { VerifyFigures } from './verify/worker.js';

/** Variants' rates, each also as a multiple of `baseline`'s. */
function rateTable(baselineName: string, baseline: number, rows: Array<[string, number]>): string {
  return table(
    ['Variant', 'verifications/s', `÷ ${baselineName}`],
    rows.map(([name, rate]) => [name, `${round(rate / 1000, 1)}k`, round(rate / baseline, 1)]),
  );
}

export const verifyBench: Bench = {
  name: 'verify',
  title: 'OSS callback signature verification on one core (RSA-MD5, 512-bit key as OSS uses)',
  async run(context) {
    const figures = await runChild<VerifyFigures>(
      beside(import.meta.url, './verify/worker.ts'),
      [String(context.quick ? 500 : 2000)],
      { cpus: '0' },
    );
    const perSecond = Math.round(figures.verifyOssCallbackPerSecond);
    const vsCrypto = figures.verifyOssCallbackPerSecond / figures.reusedKeyPerSecond;
    const markdown = [
      "One process pinned to CPU 0 (`taskset -c 0`); each variant runs 2 s after a warm-up (`verifyOssCallback` and the reused-key `crypto.verify` three times each, alternating; the median of each). Rates are per second of the process's CPU time (verification is synchronous on its one thread), so other tenants of the shared core do not count against it. The callback body is a rendered upcall template with a 400-character ticket.",
      '',
      rateTable('parse-per-call', figures.parsePerCallPerSecond, [
        ['`verifyOssCallback` (pinned key, parsed once)', figures.verifyOssCallbackPerSecond],
        ['`crypto.verify`, parsed `KeyObject` reused', figures.reusedKeyPerSecond],
        ['`crypto.verify`, `createPublicKey(pem)` per call', figures.parsePerCallPerSecond],
      ]),
      '',
      "Upload tickets (HS256 JWTs as the token function issues them), same process; jose's WebCrypto HMAC runs on libuv's thread pool, whose CPU time the process's CPU time includes:",
      '',
      rateTable('jose', figures.joseTicketPerSecond, [
        ['`verifyUploadTicket`: node:crypto HMAC on the calling thread', figures.ticketPerSecond],
        [
          "jose `jwtVerify`, WebCrypto key imported once (upcall's previous verifier)",
          figures.joseTicketPerSecond,
        ],
      ]),
      '',
      `\`verifyPerSecond\` = ${perSecond}: ${verdict(perSecond >= 100_000, '≥ 100k/s')}; \`verifyVsCrypto\` = ${round(vsCrypto)}: ${verdict(vsCrypto >= 0.8, '≥ 0.8')}.`,
    ].join('\n');
    return {
      summary: { verifyPerSecond: perSecond, verifyVsCrypto: round(vsCrypto) },
      details: { ...figures },
      markdown,
    };
  },
};
