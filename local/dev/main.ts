/**
 * `npm run dev`: the whole pipeline on one machine until Ctrl-C / SIGTERM — local cloud, token and callback functions
 * over HTTP, the two media functions (image, video) behind the local FC with the OSS trigger, and the browser demo. Settings come from
 * the environment (`UPCALL_LOCAL_*`, `UPCALL_DEV_*`, `UPCALL_REGION`, `UPCALL_BUCKET`, and any function setting);
 * `<data dir>/stack.json` gets everything a script needs.
 */
import { join, relative, resolve } from 'node:path';
import { loadSettings } from '../../shared/config.js';
import { useLogDestination } from '../../shared/log.js';
import { LOCAL_BUCKET } from '../cloud.js';
import type { ReceivedEvent } from '../example-receiver.js';
import { explainPortInUse } from '../listen.js';
import { runUntilSignal, startMain } from '../run-until-signal.js';
import { type DevStack, startDevStack } from './stack.js';
import { terminalLogDestination } from './terminal-log.js';

/** The CLI finds `.local/stack.json` by itself; any other data dir must be named, or the hint would fail. */
function uploadStackOption(stackFile: string): string {
  return stackFile === join('.local', 'stack.json') ? '' : ` --stack ${stackFile}`;
}

function banner(stack: DevStack): string {
  const { info } = stack;
  const shown = relative(process.cwd(), stack.stackFile);
  const stackFile = shown.startsWith('..') ? stack.stackFile : shown;
  return [
    `upcall dev stack — region ${info.region}, bucket ${info.bucket}, account ${info.accountId}`,
    `  Demo      ${info.demo.url}`,
    `  Token     ${info.token.url}  (POST with Authorization: Bearer <jwt>)`,
    `  Callback  ${info.callback.url}`,
    `  OSS       ${info.oss.endpoint}`,
    `  STS       ${info.sts.endpoint}`,
    `  FC        ${info.fc.endpoint}  (media jobs: ${info.fc.endpoint}/_local/invocations)`,
    ...(stack.receiver
      ? [`  Webhooks  ${stack.receiver.url}  (example receiver; its events are printed here)`]
      : []),
    `Stack info for scripts (URLs, keys, a dev JWT for user "${info.devAuth.user}" until ${info.devAuth.expiresAt}): ${stackFile}`,
    'Dev user tokens: any HS256 JWT with `sub` = the user, signed with devAuth.jwtSecret; or',
    `  curl '${info.demo.url}dev-token?user=alice'`,
    `Upload from the command line:  npm run upload -- <file> [--user NAME]${uploadStackOption(stackFile)}`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

function printWebhookEvent({ id, event }: ReceivedEvent): void {
  const key = event.type === 'upload.completed' ? event.data.object.key : event.data.key;
  const detail = event.type === 'media.failed' ? ` (${event.data.error?.code ?? 'failed'})` : '';
  process.stdout.write(`webhook  ${event.type}  ${key}${detail}  ${id}\n`);
}

async function main(): Promise<void> {
  // Readable lines on a terminal; JSON lines when piped (to a file, jq, a log collector).
  if (process.stdout.isTTY) useLogDestination(terminalLogDestination());
  const settings = loadSettings(
    [
      'UPCALL_LOCAL_DATA_DIR',
      'UPCALL_LOCAL_OSS_PORT',
      'UPCALL_LOCAL_STS_PORT',
      'UPCALL_LOCAL_FC_PORT',
      'UPCALL_DEV_TOKEN_PORT',
      'UPCALL_DEV_CALLBACK_PORT',
      'UPCALL_DEV_DEMO_PORT',
      'UPCALL_LOCAL_RECEIVER_PORT',
      'UPCALL_LOCAL_TRIGGER_DELAY_MS',
      'UPCALL_REGION',
      'UPCALL_BUCKET',
    ],
    { ...process.env, UPCALL_BUCKET: process.env.UPCALL_BUCKET?.trim() || LOCAL_BUCKET },
  );
  const ports = {
    UPCALL_LOCAL_OSS_PORT: settings.UPCALL_LOCAL_OSS_PORT,
    UPCALL_LOCAL_STS_PORT: settings.UPCALL_LOCAL_STS_PORT,
    UPCALL_LOCAL_FC_PORT: settings.UPCALL_LOCAL_FC_PORT,
    UPCALL_DEV_TOKEN_PORT: settings.UPCALL_DEV_TOKEN_PORT,
    UPCALL_DEV_CALLBACK_PORT: settings.UPCALL_DEV_CALLBACK_PORT,
    UPCALL_DEV_DEMO_PORT: settings.UPCALL_DEV_DEMO_PORT,
    UPCALL_LOCAL_RECEIVER_PORT: settings.UPCALL_LOCAL_RECEIVER_PORT,
  };
  const stack = await startDevStack({
    dataDir: resolve(settings.UPCALL_LOCAL_DATA_DIR),
    region: settings.UPCALL_REGION,
    bucket: settings.UPCALL_BUCKET,
    ports: {
      oss: ports.UPCALL_LOCAL_OSS_PORT,
      sts: ports.UPCALL_LOCAL_STS_PORT,
      fc: ports.UPCALL_LOCAL_FC_PORT,
      token: ports.UPCALL_DEV_TOKEN_PORT,
      callback: ports.UPCALL_DEV_CALLBACK_PORT,
      demo: ports.UPCALL_DEV_DEMO_PORT,
      receiver: ports.UPCALL_LOCAL_RECEIVER_PORT,
    },
    triggerDelayMs: settings.UPCALL_LOCAL_TRIGGER_DELAY_MS,
    env: process.env,
    // The example receiver plays the application unless the developer points the hooks at their own.
    ...(process.env.UPCALL_UPLOAD_HOOK_URL || process.env.UPCALL_MEDIA_HOOK_URL
      ? {}
      : { webhooks: { onEvent: printWebhookEvent } }),
  }).catch((error: unknown) => {
    throw explainPortInUse(error, ports);
  });
  process.stdout.write(banner(stack));

  runUntilSignal('dev stack', stack);
}

startMain('dev stack', main);
