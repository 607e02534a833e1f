/**
 * `npm run local-cloud`: run the local cloud until Ctrl-C / SIGTERM. Settings come from the environment
 * (`UPCALL_LOCAL_*`, `UPCALL_REGION`, `UPCALL_BUCKET` — which defaults to `upcall-local` here); the endpoints are
 * printed and `<data dir>/stack.json` is written for other tools to read.
 */
import { join, resolve } from 'node:path';
import { loadSettings } from '../shared/config.js';
import { LOCAL_BUCKET, startLocalCloud, writeStackInfo } from './cloud.js';
import { explainPortInUse } from './listen.js';
import { runUntilSignal, startMain } from './run-until-signal.js';

async function main(): Promise<void> {
  const settings = loadSettings(
    [
      'UPCALL_LOCAL_DATA_DIR',
      'UPCALL_LOCAL_OSS_PORT',
      'UPCALL_LOCAL_STS_PORT',
      'UPCALL_LOCAL_STS_ASSUME_ROLE_PER_SECOND',
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
    stsAssumeRolePerSecond: settings.UPCALL_LOCAL_STS_ASSUME_ROLE_PER_SECOND,
    ports: {
      oss: settings.UPCALL_LOCAL_OSS_PORT,
      sts: settings.UPCALL_LOCAL_STS_PORT,
      fc: settings.UPCALL_LOCAL_FC_PORT,
    },
  }).catch((error: unknown) => {
    throw explainPortInUse(error, {
      UPCALL_LOCAL_OSS_PORT: settings.UPCALL_LOCAL_OSS_PORT,
      UPCALL_LOCAL_STS_PORT: settings.UPCALL_LOCAL_STS_PORT,
      UPCALL_LOCAL_FC_PORT: settings.UPCALL_LOCAL_FC_PORT,
    });
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
      `  KMS  ${info.kms.endpoint}`,
      `  stack info (endpoints, root key, role ARNs): ${stackFile}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  runUntilSignal('local cloud', cloud);
}

startMain('local cloud', main);
