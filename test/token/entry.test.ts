import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MobileErrorSchema } from '../../functions/token/responses.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../shared/http/fixtures/fc/${name}`, import.meta.url));

/** FC's entry as deployed: module state built from process.env at import. */
async function importEntry() {
  vi.resetModules();
  return (await import('../../functions/token/index.js')).handler;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('token function entry, misconfigured', () => {
  it('answers a mobile GET in the shape the stock providers read, and POST in JSON, naming no setting', async () => {
    vi.stubEnv('UPCALL_BUCKET', '');
    vi.stubEnv('UPCALL_REGION', 'Region-Of-Doom');
    const handler = await importEntry();

    const get = await handler(fixture('http-event-get.json'), { requestId: 'r-get' });
    const getBody = Buffer.from(get.body, 'base64').toString();
    // HTTP 200: Android's provider reads the body only for 2xx; the status travels in StatusCode.
    expect(get.statusCode).toBe(200);
    expect(get.headers['cache-control']).toBe('no-store');
    const mobile = JSON.parse(getBody);
    expect(Value.Check(MobileErrorSchema, mobile)).toBe(true);
    expect(mobile).toMatchObject({ StatusCode: 500, ErrorCode: 'ConfigInvalid', RequestId: 'r-get' });

    const post = await handler(fixture('http-event-post.json'), { requestId: 'r-post' });
    const postBody = Buffer.from(post.body, 'base64').toString();
    expect(post.statusCode).toBe(500);
    expect(JSON.parse(postBody).error).toMatchObject({ code: 'ConfigInvalid', requestId: 'r-post' });

    for (const body of [getBody, postBody]) {
      for (const detail of ['UPCALL_BUCKET', 'UPCALL_REGION', 'Region-Of-Doom'])
        expect(body).not.toContain(detail);
    }
  });
});
