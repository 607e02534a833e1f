/**
 * `npm run local-cloud`: run the local cloud until Ctrl-C / SIGTERM. Settings come from the environment
 * (`UPCALL_LOCAL_*`, `UPCALL_REGION`, `UPCALL_BUCKET` — which defaults to `upcall-local` here); the endpoints are
 * printed and `<data dir>/stack.json` is written for other tools to read.
 */
import { join, resolve } from 'node:path';
import { loadSettings } from '../shared/config.js';
import { LOCAL_BUCKET, startLocalCloud, writeStackInfo } from './cloud.js';

async function main(): Promise<void> {
  const settings = loadSettings(
    [
      'UPCALL_LOCAL_DATA_DIR',
      'UPCALL_LOCAL_OSS_PORT',
      'UPCALL_LOCAL_STS_PORT',
      'UPCALL_LOCAL_FC_PORT',
      'UPCALL_REGION',
      'UPCALL_BUCKET',
    ],
    { ...process.env, UPCALL_BUCKET: process.env.UPCALL_BUCKET?.trim() || LOCAL_BUCKET },
  );
  const dataDir = resolve(settings.UPCALL_LOCAL_DATA_DIR);
  const cloud = await startLocalCloud({
    dataDir,
    region: settings.UPCALL_REGION,
    buckets: [settings.UPCALL_BUCKET],
    ports: {
      oss: settings.UPCALL_LOCAL_OSS_PORT,
      sts: settings.UPCALL_LOCAL_STS_PORT,
      fc: settings.UPCALL_LOCAL_FC_PORT,
    },
  });
  const stackFile = join(dataDir, 'stack.json');
  writeStackInfo(stackFile, cloud.info);
  const { info } = cloud;
  process.stdout.write(
    [
      `upcall local cloud — region ${info.region}, account ${info.accountId}`,
      `  OSS  ${info.oss.endpoint}  (bucket ${info.buckets.join(', ')})`,
      `  STS  ${info.sts.endpoint}`,
      `  FC   ${info.fc.endpoint}`,
      `  stack info (endpoints, root key, role ARNs): ${stackFile}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches npm, tsx and this process alike and they relay it: one stop is enough.
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the local cloud\n`);
    cloud.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`local cloud did not stop cleanly: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`local cloud failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
