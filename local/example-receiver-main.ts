/**
 * `npm run example-receiver`: the example application endpoint (example-receiver.ts) until Ctrl-C, printing each event
 * once as a JSON line. Set `UPCALL_WEBHOOK_SECRET` to the secret upcall's functions sign with; without one, a fresh
 * secret is generated and printed for you to give them. Point `UPCALL_UPLOAD_HOOK_URL` / `UPCALL_MEDIA_HOOK_URL` at
 * the printed URL.
 */
import { randomBytes } from 'node:crypto';
import { loadSettings } from '../shared/config.js';
import { checkWebhookSecret } from '../shared/webhook-send.js';
import { startExampleReceiver } from './example-receiver.js';

async function main(): Promise<void> {
  const settings = loadSettings(['UPCALL_WEBHOOK_SECRET', 'UPCALL_LOCAL_RECEIVER_PORT'], process.env);
  const generated = settings.UPCALL_WEBHOOK_SECRET === '';
  const secret = generated ? `whsec_${randomBytes(32).toString('base64')}` : settings.UPCALL_WEBHOOK_SECRET;
  checkWebhookSecret(secret);
  const receiver = await startExampleReceiver({
    secret,
    port: settings.UPCALL_LOCAL_RECEIVER_PORT,
    onEvent: ({ id, event }) => process.stdout.write(`${JSON.stringify({ webhookId: id, ...event })}\n`),
  });
  process.stdout.write(
    [
      `example webhook receiver on ${receiver.url}`,
      generated ? `  no UPCALL_WEBHOOK_SECRET set; generated one: UPCALL_WEBHOOK_SECRET=${secret}` : '',
      `  for upcall: UPCALL_UPLOAD_HOOK_URL=${receiver.url} UPCALL_MEDIA_HOOK_URL=${receiver.url}`,
      'Press Ctrl-C to stop.',
      '',
    ]
      .filter((line) => line !== '')
      .join('\n')
      .concat('\n'),
  );
  const stop = () => {
    receiver.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`example receiver failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
