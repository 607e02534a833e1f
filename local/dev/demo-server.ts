/**
 * The browser demo's server: the page (`demo/`, plain HTML and an ES module), the client library's browser bundle
 * (`/upcall.js`, the same esbuild bundle `npm run build` writes to dist/client/upcall.js, built on first request), the
 * page's settings, and `/dev-token`, which stands in for an app's sign-in: it mints a caller JWT for any user name
 * with the dev secret. Loopback only, dev only.
 *
 * Written by hand rather than with a static-file library: it serves a fixed list of files (no paths from the request
 * reach the file system), and it is an EdgeHandler behind the same node:http adapter as the functions.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleBrowserClient } from '../../scripts/build-client.js';
import { type EdgeHandler, errorResponse, jsonResponse } from '../../shared/http/edge.js';
import { mintDevUserToken } from './dev-auth.js';

const DEMO_DIR = join(import.meta.dirname, 'demo');

/** URL path → file and content type. */
const FILES: Record<string, { path: string; type: string }> = {
  '/': { path: join(DEMO_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { path: join(DEMO_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { path: join(DEMO_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
};

/** Built once per process, when the page first asks (a build failure is retried on the next request). */
let clientBundle: Promise<Uint8Array> | undefined;
function clientLibrary(): Promise<Uint8Array> {
  clientBundle ??= bundleBrowserClient().catch((error: unknown) => {
    clientBundle = undefined;
    throw error;
  });
  return clientBundle;
}

/** Dev tokens live an hour, like a short session. */
const DEV_TOKEN_TTL_SECONDS = 3600;
/** The token function refuses longer ids anyway; refuse them here with a clearer message. */
const MAX_USER_LENGTH = 128;

export interface DemoServerOptions {
  /** The token function's URL the page POSTs to. */
  tokenUrl: string;
  jwtSecret: string;
}

export function createDemoHandler(options: DemoServerOptions): EdgeHandler {
  return async (request) => {
    if (request.method !== 'GET') {
      return errorResponse(405, 'MethodNotAllowed', 'the demo serves GET only', request.requestId, {
        allow: 'GET',
      });
    }
    if (request.path === '/config.json') return jsonResponse(200, { tokenUrl: options.tokenUrl });
    if (request.path === '/dev-token') {
      const user = new URLSearchParams(request.query).get('user')?.trim() ?? '';
      if (user === '' || user.length > MAX_USER_LENGTH) {
        return errorResponse(
          400,
          'InvalidUser',
          `give ?user=<name> (1 to ${MAX_USER_LENGTH} characters)`,
          request.requestId,
        );
      }
      const token = await mintDevUserToken(options.jwtSecret, user, DEV_TOKEN_TTL_SECONDS);
      return jsonResponse(200, token, { 'cache-control': 'no-store' });
    }
    if (request.path === '/upcall.js') {
      return {
        status: 200,
        headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
        body: await clientLibrary(),
      };
    }
    const file = FILES[request.path];
    if (!file) return errorResponse(404, 'NotFound', `no ${request.path} here`, request.requestId);
    return {
      status: 200,
      headers: { 'content-type': file.type, 'cache-control': 'no-cache' },
      body: await readFile(file.path),
    };
  };
}
