/**
 * The callback function over HTTP on the local cloud, as the dev stack serves it: its app behind the node:http edge,
 * called with the callback role's temporary credentials. Every request is also kept, to replay it byte for byte.
 */
import { createServer } from 'node:http';
import { createCallbackApp } from '../../functions/callback/app.js';
import type { LocalCloud } from '../../local/cloud.js';
import { closeServer, listen } from '../../local/listen.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger } from '../../shared/log.js';

export interface CapturedCallback {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface CallbackServer {
  /** The callbackUrl: `http://127.0.0.1:PORT/oss-callback`. */
  url: string;
  /** What reached the server, in order. */
  captured: CapturedCallback[];
  close(): Promise<void>;
}

/**
 * `settings` go on top of what the local cloud decides: its region and OSS endpoint, the key its OSS signs callbacks
 * with, and a 3 s deadline (inside OSS's 5 s).
 */
export async function startCallbackServer(
  cloud: LocalCloud,
  settings: NodeJS.ProcessEnv,
): Promise<CallbackServer> {
  const env = {
    UPCALL_REGION: cloud.info.region,
    UPCALL_OSS_ENDPOINT: cloud.info.oss.endpoint,
    UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX: cloud.info.oss.trustedKeyUrlPrefix,
    UPCALL_CALLBACK_TRUSTED_KEY_PEM: cloud.info.oss.publicKeyPem,
    UPCALL_CALLBACK_DEADLINE_MS: '3000',
    ...settings,
  };
  const credentials = cloud.account.issueTemporary({
    roleArn: cloud.info.roles.callback,
    roleSessionName: 'upcall-callback',
    durationSeconds: 3600,
  });
  const listener = createNodeListener(createCallbackApp(env), { log: createLogger('callback'), credentials });
  const captured: CapturedCallback[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      captured.push({
        path: req.url ?? '/',
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      }),
    );
    listener(req, res);
  });
  const { endpoint } = await listen(server);
  return { url: `${endpoint}/oss-callback`, captured, close: () => closeServer(server) };
}
