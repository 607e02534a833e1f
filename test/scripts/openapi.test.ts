/**
 * openapi.json: current with the TypeBox schemas it is generated from (`npm run openapi`), a valid OpenAPI 3.1
 * document by swagger-parser's validator, its schemas compile and
 * every `$ref` resolves (JSON Schema 2020-12, which OpenAPI 3.1 uses), every error code the token function throws is
 * listed under its status, and real answers of the dev stack's token endpoint (each grant, the mobile GET, the
 * errors) and callback match it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { createUpload, memoryCheckpoints } from '../../client/node.js';
import { openApiText, TOKEN_ERROR_CODES } from '../../scripts/openapi.js';
import { useE2eStack } from '../helpers/dev-stack.js';
import { solidPng } from '../helpers/media.js';

const ROOT = join(import.meta.dirname, '..', '..');
const addFormats = addFormatsModule.default;

let document: Record<string, unknown>;
let ajv: Ajv2020;

const e2e = useE2eStack();
beforeAll(async () => {
  document = JSON.parse(await readFile(join(ROOT, 'openapi.json'), 'utf8'));
  // strict: the OpenAPI document around the schemas has keys JSON Schema does not know.
  ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi.json');
});

const pointer = (...path: string[]) =>
  `openapi.json#/${path.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

/** Check `body` against the schema of `method`'s answer with `status`; returns ajv's errors (empty: it matches). */
function answerErrors(method: 'get' | 'post', status: number, body: unknown) {
  const validate = ajv.compile({
    $ref: pointer('paths', '/', method, 'responses', String(status), 'content', 'application/json', 'schema'),
  });
  return validate(body) ? [] : (validate.errors ?? []);
}

async function token(
  method: 'GET' | 'POST' | 'PUT',
  init: { jwt?: string; body?: string; origin?: string } = {},
) {
  const response = await fetch(e2e.stack.info.token.url, {
    method,
    headers: {
      ...(init.jwt ? { authorization: `Bearer ${init.jwt}` } : {}),
      ...(init.origin ? { origin: init.origin } : {}),
      'content-type': 'application/json',
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('openapi.json', () => {
  it('is what npm run openapi writes from the TypeBox schemas', async () => {
    expect(await readFile(join(ROOT, 'openapi.json'), 'utf8')).toBe(openApiText());
    expect(document).toMatchObject({ openapi: '3.1.0' });
  });

  it('validates as an OpenAPI 3.1 document (swagger-parser), which refuses a broken copy', async () => {
    const validated = await SwaggerParser.validate(structuredClone(document) as never);
    expect((validated as { openapi?: string }).openapi).toBe('3.1.0');
    const broken = structuredClone(document) as { info?: unknown };
    delete broken.info;
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow(/info/);
  });

  it('compiles: every component schema and every answer, with each $ref resolved', () => {
    const { components, paths, webhooks } = document as {
      components: { schemas: Record<string, unknown> };
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      webhooks: Record<string, unknown>;
    };
    for (const name of Object.keys(components.schemas)) {
      expect(() => ajv.compile({ $ref: pointer('components', 'schemas', name) }), name).not.toThrow();
    }
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const status of Object.keys(operation.responses)) {
          const schema = pointer(
            'paths',
            path,
            method,
            'responses',
            status,
            'content',
            'application/json',
            'schema',
          );
          expect(() => ajv.compile({ $ref: schema }), `${method} ${status}`).not.toThrow();
        }
      }
    }
    expect(Object.keys(webhooks).sort()).toEqual(['media.failed', 'media.ready', 'upload.completed']);
  });

  it('lists every error code the token function throws, under its status', async () => {
    const dir = join(ROOT, 'functions', 'token');
    const thrown: Array<[number, string]> = [];
    for (const file of await readdir(dir)) {
      const source = await readFile(join(dir, file), 'utf8');
      for (const match of source.matchAll(/HttpError\(\s*(\d{3}),\s*'([A-Za-z]+)'/g)) {
        thrown.push([Number(match[1]), match[2] as string]);
      }
      for (const match of source.matchAll(/unauthorized\(\s*'([A-Za-z]+)'/g))
        thrown.push([401, match[1] as string]);
    }
    expect(thrown.length).toBeGreaterThan(10);
    for (const [status, code] of thrown)
      expect(TOKEN_ERROR_CODES[status], `${status} ${code}`).toContain(code);
  });

  it('matches the dev stack’s real answers: every grant, the mobile GET, the errors, the callback', async () => {
    const jwt = await e2e.stack.userToken('otto');
    const wanted = { contentType: 'image/png', size: 4000, fileName: 'a.png' };
    const grants: Record<string, Record<string, unknown>> = {};
    for (const grant of ['credentials', 'form', 'put', 'multipart']) {
      const { status, body } = await token('POST', { jwt, body: JSON.stringify({ grant, ...wanted }) });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(answerErrors('post', 200, body), grant).toEqual([]);
      grants[grant] = body;
    }
    const { key, uploadId, ticket } = grants.multipart as { key: string; uploadId: string; ticket: string };
    const parts = await token('POST', {
      jwt,
      body: JSON.stringify({ grant: 'multipart-parts', key, uploadId, partNumbers: [1, 2] }),
    });
    expect(answerErrors('post', 200, parts.body)).toEqual([]);
    const complete = await token('POST', {
      jwt,
      body: JSON.stringify({ grant: 'multipart-complete', key, uploadId, ticket }),
    });
    expect(answerErrors('post', 200, complete.body)).toEqual([]);
    // An answer of one kind does not pass as another: the schema tells them apart.
    expect(answerErrors('post', 200, { ...grants.form, grant: 'put' })).not.toEqual([]);

    expect(answerErrors('get', 200, (await token('GET', { jwt })).body)).toEqual([]);
    const mobileError = await token('GET', { jwt: 'not.a.jwt' });
    expect(mobileError.body).toMatchObject({ StatusCode: 401, ErrorCode: 'TokenInvalid' });
    expect(answerErrors('get', 200, mobileError.body)).toEqual([]);

    const errors = [
      await token('POST', { jwt, body: '{' }),
      await token('POST', { jwt, body: JSON.stringify({ grant: 'everything' }) }),
      await token('POST', { jwt, body: JSON.stringify({ grant: 'form', contentType: 'text/plain' }) }),
      await token('POST', { jwt: 'not.a.jwt', body: '{}' }),
      await token('POST', { body: '{}' }),
      await token('POST', {
        jwt: await e2e.stack.userToken('eve'),
        body: JSON.stringify({ grant: 'multipart-parts', key, uploadId, partNumbers: [1] }),
      }),
      await token('POST', { jwt, body: '{}', origin: 'http://evil.example' }),
      await token('PUT', { jwt, body: '{}' }),
    ];
    expect(errors.map((e) => `${e.status} ${(e.body.error as { code: string }).code}`)).toEqual([
      '400 InvalidJson',
      '400 InvalidRequest',
      '400 ContentTypeNotAllowed',
      '401 TokenInvalid',
      '401 TokenMissing',
      '403 KeyOutsidePrefix',
      '403 OriginNotAllowed',
      '405 MethodNotAllowed',
    ]);
    for (const error of errors) expect(answerErrors('post', error.status, error.body)).toEqual([]);
    // A code listed under another status does not pass.
    expect(
      answerErrors('post', 400, { error: { code: 'TokenInvalid', message: '', requestId: '' } }),
    ).not.toEqual([]);

    const image = await solidPng(40, 30, '#08f');
    const upload = createUpload(new Blob([image], { type: 'image/png' }), {
      tokenUrl: e2e.stack.info.token.url,
      authorization: () => `Bearer ${jwt}`,
      checkpoints: memoryCheckpoints(),
    });
    const { answer } = await upload.done;
    const callback = ajv.compile({ $ref: pointer('components', 'schemas', 'CallbackAnswer') });
    expect(callback(answer), JSON.stringify(callback.errors)).toBe(true);
  });
});
