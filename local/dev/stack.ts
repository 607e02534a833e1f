/**
 * The whole pipeline on one machine: the local cloud, the token and callback functions served over HTTP through the
 * same edge adapter FC's HTTP trigger is replaced by (with their roles' temporary credentials), the image and video
 * media functions in the local FC under their role with the OSS trigger s.yaml deploys, and the browser demo. `npm run dev` runs it;
 * tests start it with ports 0.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import { join } from 'node:path';
import { createCallbackApp } from '../../functions/callback/app.js';
import { createMediaHandler } from '../../functions/media/app.js';
import { loadMediaConfig } from '../../functions/media/config.js';
import { TRIGGER_EVENTS } from '../../functions/media/trigger.js';
import { createTokenApp } from '../../functions/token/app.js';
import { SETTINGS } from '../../shared/config.js';
import type { EdgeApp } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger } from '../../shared/log.js';
import { LOCAL_BUCKET, type LocalCloud, startLocalCloud, writeStackInfo } from '../cloud.js';
import { type ExampleReceiver, type ReceivedEvent, startExampleReceiver } from '../example-receiver.js';
import { connectOssTrigger } from '../fc/oss-trigger.js';
import { closeServer, listen } from '../listen.js';
import { createDemoHandler } from './demo-server.js';
import { loadOrCreateDevSecrets, mintDevUserToken } from './dev-auth.js';
import { devFunctionEnv } from './function-env.js';
import { RoleSession } from './role-session.js';
import type { DevStackInfo } from './stack-info.js';

export interface DevPorts {
  oss?: number;
  sts?: number;
  fc?: number;
  token?: number;
  callback?: number;
  demo?: number;
  receiver?: number;
}

export interface DevStackOptions {
  dataDir: string;
  /** Default `cn-hangzhou`. */
  region?: string;
  /** Default `upcall-local`. */
  bucket?: string;
  /** 0 or absent: any free port. */
  ports?: DevPorts;
  /** How long after an upload the OSS trigger's event reaches the media function (`UPCALL_LOCAL_TRIGGER_DELAY_MS`). */
  triggerDelayMs?: number;
  /** Settings for the functions (e.g. `UPCALL_THUMBNAIL_SIZES`); the stack's own values always win. */
  env?: NodeJS.ProcessEnv;
  /**
   * Run the example webhook receiver as the application: the upload and media hooks point at it (signed with
   * `UPCALL_WEBHOOK_SECRET` if given, else a fresh secret), and each event it processes goes to `onEvent`.
   */
  webhooks?: { onEvent(received: ReceivedEvent): void };
}

export interface DevStack {
  info: DevStackInfo;
  /** `<dataDir>/stack.json`, written at start. */
  stackFile: string;
  cloud: LocalCloud;
  /** The environment the three functions were built from. */
  env: NodeJS.ProcessEnv;
  servers: { token: Server; callback: Server; demo: Server };
  /** The example webhook receiver, when `webhooks` was asked for. */
  receiver?: ExampleReceiver;
  /** A caller JWT for `user`, signed with the dev secret. */
  userToken(user: string, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** s.yaml's media functions: FC retries a failed async run 3 times; the OSS trigger watches these events. */
const MEDIA_MAX_ASYNC_RETRY_ATTEMPTS = 3;
/** The dev token written to stack.json lasts a working day. */
const STACK_TOKEN_TTL_SECONDS = 24 * 3600;
const STACK_TOKEN_USER = 'dev';

/** A server that answers 503 until its handler is attached (ports are bound first, so origins are known early). */
function lateBoundServer(): { server: Server; attach(listener: RequestListener): void } {
  let attached: RequestListener | undefined;
  const server = createServer((req, res) => {
    if (attached) return attached(req, res);
    res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' }).end('starting\n');
  });
  return {
    server,
    attach(listener) {
      attached = listener;
    },
  };
}

/** The function's app behind the node:http edge, called with its role's credentials as FC would pass them. */
function functionListener(app: EdgeApp, name: string, session: RoleSession): RequestListener {
  return createNodeListener(app, {
    log: createLogger(name),
    // Read per request by the adapter: a getter hands out fresh credentials once the old ones near expiry.
    get credentials() {
      return session.current();
    },
  });
}

async function closeIfListening(server: Server): Promise<void> {
  if (server.listening) await closeServer(server);
}

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const { dataDir, ports = {} } = options;
  const bucket = options.bucket ?? LOCAL_BUCKET;
  const secrets = loadOrCreateDevSecrets(join(dataDir, 'keys', 'dev-auth.json'));
  const token = lateBoundServer();
  const callback = lateBoundServer();
  const demo = lateBoundServer();
  const servers = { token: token.server, callback: callback.server, demo: demo.server };
  let cloud: LocalCloud | undefined;
  let receiver: ExampleReceiver | undefined;
  const close = async () => {
    const results = await Promise.allSettled([
      ...Object.values(servers).map(closeIfListening),
      ...(receiver ? [receiver.close()] : []),
      ...(cloud ? [cloud.close()] : []),
    ]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };

  try {
    const tokenUrl = `${(await listen(token.server, ports.token)).endpoint}/`;
    const callbackUrl = `${(await listen(callback.server, ports.callback)).endpoint}/`;
    const demoBound = await listen(demo.server, ports.demo);
    // The page may be opened under either loopback name; both are allowed origins.
    const demoOrigins = [demoBound.endpoint, `http://localhost:${demoBound.port}`];
    cloud = await startLocalCloud({
      dataDir,
      buckets: [bucket],
      ...(options.region ? { region: options.region } : {}),
      ports: { oss: ports.oss ?? 0, sts: ports.sts ?? 0, fc: ports.fc ?? 0 },
      corsAllowedOrigins: demoOrigins,
    });
    const { info: cloudInfo, account } = cloud;
    const env = devFunctionEnv({
      info: cloudInfo,
      bucket,
      secrets,
      callbackUrl,
      corsOrigins: demoOrigins,
      base: options.env ?? {},
    });
    if (options.webhooks) {
      const secret = env.UPCALL_WEBHOOK_SECRET || `whsec_${randomBytes(32).toString('base64')}`;
      receiver = await startExampleReceiver({
        secret,
        port: ports.receiver ?? 0,
        onEvent: options.webhooks.onEvent,
      });
      Object.assign(env, {
        UPCALL_WEBHOOK_SECRET: secret,
        UPCALL_UPLOAD_HOOK_URL: receiver.url,
        UPCALL_MEDIA_HOOK_URL: receiver.url,
      });
    }

    // Built before anything is attached: a bad setting fails the start, naming it.
    const tokenApp = createTokenApp(env);
    const callbackApp = createCallbackApp(env);
    const mediaConfig = loadMediaConfig(env);
    const session = (role: string, name: string) => new RoleSession(account, role, name);
    token.attach(functionListener(tokenApp, 'token', session(cloudInfo.roles.token, 'fc-upcall-token')));
    callback.attach(
      functionListener(callbackApp, 'callback', session(cloudInfo.roles.callback, 'fc-upcall-callback')),
    );
    // Both media functions, as s.yaml deploys them: one code, each its own instance of it; the trigger on the image one.
    for (const functionName of new Set(Object.values(mediaConfig.mediaFunctions))) {
      cloud.fc.register(functionName, createMediaHandler(env), {
        roleArn: cloudInfo.roles.media,
        maxAsyncRetryAttempts: MEDIA_MAX_ASYNC_RETRY_ATTEMPTS,
      });
    }
    connectOssTrigger(cloud.oss, cloud.fc, {
      functionName: mediaConfig.mediaFunctions.image,
      bucket,
      prefix: mediaConfig.uploadsPrefix,
      events: TRIGGER_EVENTS,
      deliveryDelayMs: options.triggerDelayMs ?? SETTINGS.UPCALL_LOCAL_TRIGGER_DELAY_MS.schema.default,
    });
    demo.attach(
      createNodeListener(
        { handle: createDemoHandler({ tokenUrl, jwtSecret: secrets.jwtSecret }) },
        {
          log: createLogger('demo'),
        },
      ),
    );

    const devToken = await mintDevUserToken(secrets.jwtSecret, STACK_TOKEN_USER, STACK_TOKEN_TTL_SECONDS);
    const info: DevStackInfo = {
      ...cloudInfo,
      bucket,
      token: { url: tokenUrl },
      callback: { url: callbackUrl },
      demo: { url: `${demoBound.endpoint}/` },
      devAuth: { jwtSecret: secrets.jwtSecret, ...devToken },
    };
    const stackFile = join(dataDir, 'stack.json');
    writeStackInfo(stackFile, info);
    return {
      info,
      stackFile,
      cloud,
      env,
      servers,
      ...(receiver ? { receiver } : {}),
      userToken: async (user, ttlSeconds) =>
        (await mintDevUserToken(secrets.jwtSecret, user, ttlSeconds)).jwt,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
