import { describe, expect, it } from 'vitest';
import { renderCallbackBody } from '../../local/oss/callback-render.js';
import {
  buildCallbackParam,
  buildCallbackVars,
  CALLBACK_BODY_TEMPLATE,
  CALLBACK_BODY_TYPE,
  encodeCallbackHeader,
  formFields,
  parseCallbackBody,
  TICKET_VARIABLE,
} from '../../shared/callback-contract.js';

/** The variables OSS would have for an upload, as strings (OSS's view). */
function ossVariables(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    bucket: 'upcall-demo',
    object: 'uploads/alice/photo.jpg',
    etag: 'D41D8CD98F00B204E9800998ECF8427E',
    size: '114020',
    mimeType: 'image/jpeg',
    'imageInfo.width': '810',
    'imageInfo.height': '539',
    'imageInfo.format': 'jpg',
    crc64: '18446744073709551615',
    operation: 'PutObject',
    reqId: '5C1B138A109F4E405B2D8A1B',
    clientIp: '203.0.113.9',
    [TICKET_VARIABLE]: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_x',
    ...overrides,
  };
}

function roundTrip(variables: Record<string, string>) {
  const body = renderCallbackBody(CALLBACK_BODY_TEMPLATE, CALLBACK_BODY_TYPE, variables);
  return parseCallbackBody(Buffer.from(body, 'utf8'));
}

describe('the callback template', () => {
  it('asks for every variable the pipeline uses, in form mode', () => {
    for (const variable of [
      'bucket',
      'object',
      'etag',
      'size',
      'mimeType',
      'imageInfo.width',
      'imageInfo.height',
      'imageInfo.format',
      'crc64',
      'operation',
      'reqId',
      'clientIp',
      TICKET_VARIABLE,
    ]) {
      expect(CALLBACK_BODY_TEMPLATE).toContain(`\${${variable}}`);
    }
    expect(CALLBACK_BODY_TYPE).toBe('application/x-www-form-urlencoded');
  });

  it('builds the callback parameter and refuses callback URLs with a query', () => {
    const param = buildCallbackParam('https://cb.example.com/callback');
    expect(param).toEqual({
      callbackUrl: 'https://cb.example.com/callback',
      callbackBody: CALLBACK_BODY_TEMPLATE,
      callbackBodyType: CALLBACK_BODY_TYPE,
    });
    expect(JSON.parse(Buffer.from(encodeCallbackHeader(param), 'base64').toString())).toEqual(param);
    expect(() => buildCallbackParam('https://cb.example.com/callback?x=1')).toThrow(/query/);
  });

  it('builds the ticket variable and refuses an empty ticket', () => {
    expect(buildCallbackVars('abc')).toEqual({ 'x:ticket': 'abc' });
    expect(() => buildCallbackVars('')).toThrow(/x:ticket/);
  });
});

describe('round trip: render as OSS does → parse → schema', () => {
  it('an image', () => {
    const result = roundTrip(ossVariables());
    expect(result).toEqual({
      ok: true,
      notice: {
        bucket: 'upcall-demo',
        key: 'uploads/alice/photo.jpg',
        etag: 'D41D8CD98F00B204E9800998ECF8427E',
        size: 114020,
        contentType: 'image/jpeg',
        image: { width: 810, height: 539, format: 'jpg' },
        crc64: '18446744073709551615',
        operation: 'PutObject',
        ossRequestId: '5C1B138A109F4E405B2D8A1B',
        clientIp: '203.0.113.9',
        ticket: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_x',
      },
    });
  });

  it('a non-image (empty imageInfo fields) and a multipart etag', () => {
    const result = roundTrip(
      ossVariables({
        mimeType: 'video/mp4',
        'imageInfo.width': '',
        'imageInfo.height': '',
        'imageInfo.format': '',
        etag: '0F7230CAA4BE94CCBDC99C5500000000-12',
        operation: 'CompleteMultipartUpload',
      }),
    );
    expect(result.ok && result.notice.image).toBeNull();
    expect(result.ok && result.notice.etag).toBe('0F7230CAA4BE94CCBDC99C5500000000-12');
  });

  it.each([
    'uploads/alice/my holiday photo.jpg',
    'uploads/alice/a+b=c&d.jpg',
    'uploads/alice/100% done.png',
    'uploads/alice/照片/日本語 ñ é.png',
    'uploads/alice/deep/er/path/x.jpg',
    "uploads/alice/quote'(paren)*!.jpg",
  ])('the key %s', (key) => {
    const result = roundTrip(ossVariables({ object: key }));
    expect(result.ok && result.notice.key).toBe(key);
  });

  it('a crc64 above 2^53 keeps every digit', () => {
    const result = roundTrip(ossVariables({ crc64: '9007199254740993' }));
    expect(result.ok && result.notice.crc64).toBe('9007199254740993');
  });
});

describe('parseCallbackBody refuses what the template cannot produce', () => {
  const valid = renderCallbackBody(CALLBACK_BODY_TEMPLATE, CALLBACK_BODY_TYPE, ossVariables());

  it.each([
    ['a repeated field', `${valid}&object=uploads%2Fbob%2Fx`, 'MalformedCallbackBody'],
    ['an unknown field', `${valid}&admin=1`, 'InvalidCallbackBody'],
    ['a missing field', valid.replace(/&size=[^&]*/, ''), 'InvalidCallbackBody'],
    ['a non-numeric size', valid.replace(/size=\d+/, 'size=12ab'), 'InvalidCallbackBody'],
    [
      'a lower-case etag',
      valid.replace(/etag=[^&]*/, 'etag=d41d8cd98f00b204e9800998ecf8427e'),
      'InvalidCallbackBody',
    ],
    ['an unknown operation', valid.replace(/operation=[^&]*/, 'operation=CopyObject'), 'InvalidCallbackBody'],
    ['a JSON body', '{"bucket":"b"}', 'InvalidCallbackBody'],
  ])('%s', (_name, body, code) => {
    const result = parseCallbackBody(Buffer.from(body));
    expect(result).toMatchObject({ ok: false, code });
  });

  it('invalid UTF-8', () => {
    expect(parseCallbackBody(Buffer.from([0x62, 0x3d, 0xff]))).toMatchObject({
      ok: false,
      code: 'MalformedCallbackBody',
    });
  });

  it('names the offending field', () => {
    const result = parseCallbackBody(Buffer.from(valid.replace(/size=\d+/, 'size=-1')));
    expect(result.ok === false && result.message).toMatch(/^size /);
  });
});

describe('form fields of a callback body', () => {
  it('reads every body as URLSearchParams does: escapes, +, bare names, empty pairs, malformed and non-UTF-8 escapes', () => {
    const pieces = [
      'a',
      'b',
      '%2F',
      '%',
      '%zz',
      '%E7%85%A7',
      '%E7%85',
      '+',
      '=',
      '&',
      '&&',
      'x=1',
      '%C3%28',
      '%F0%9F%98%80',
      ' ',
      '~',
    ];
    // A fixed pseudo-random sequence (LCG), so every run checks the same 5000 bodies.
    let seed = 42;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      let body = '';
      for (let j = 0, length = 1 + next(10); j < length; j++) body += pieces[next(pieces.length)];
      expect([...formFields(body)], body).toEqual([...new URLSearchParams(body)]);
    }
  });
});
