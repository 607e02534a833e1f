import { createHash } from 'node:crypto';
import OSS from 'ali-oss';
import { describe, expect, it } from 'vitest';
import { resolveAddress } from '../../../local/oss/addressing.js';
import { Crc64, crc64 } from '../../../local/oss/crc64.js';
import { multipartEtag } from '../../../local/oss/multipart.js';
import { parseQuery } from '../../../local/oss/query.js';
import {
  canonicalizedResource,
  hmacSha1Base64,
  v1PostSignature,
  v1StringToSign,
} from '../../../local/oss/signature-v1.js';
import {
  parseV4Authorization,
  v4CanonicalRequest,
  v4PostSignature,
  v4Scope,
  v4Signature,
  v4SigningKey,
  v4StringToSign,
} from '../../../local/oss/signature-v4.js';
import { OSS_V4_HEADER_VECTORS, signingVector } from '../../helpers/signing-vectors.js';

const lower = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

describe('V4 Authorization header (published SDK vectors)', () => {
  for (const id of OSS_V4_HEADER_VECTORS) {
    it(id, () => {
      const { inputs, expected, intermediate_computed_here: steps } = signingVector(id);
      const headers = lower({ ...inputs.headers_before_signing, ...inputs.headers_added_by_signer });
      const additionalHeaders = (inputs.additional_headers_requested as string[])
        .map((h) => h.toLowerCase())
        .sort();
      const canonical = v4CanonicalRequest({
        method: inputs.method,
        bucket: inputs.bucket,
        key: inputs.key,
        query: inputs.query,
        headers,
        additionalHeaders,
      });
      expect(canonical).toBe(steps?.canonical_request);
      const date = inputs.x_oss_date.slice(0, 8);
      const stringToSign = v4StringToSign(inputs.x_oss_date, v4Scope(date, inputs.region), canonical);
      expect(stringToSign).toBe(steps?.string_to_sign);
      const key = v4SigningKey(inputs.access_key_secret, date, inputs.region);
      expect(key.toString('hex')).toBe(steps?.signing_key_hex);
      const parsed = parseV4Authorization(expected.authorization as string);
      if (typeof parsed === 'string') throw new Error(parsed);
      expect(parsed.additionalHeaders).toEqual(additionalHeaders);
      expect(v4Signature(key, stringToSign)).toBe(parsed.signature);
    });
  }

  it('a one-byte change in the canonical request changes the signature', () => {
    const { inputs } = signingVector('oss-v4-header-sdk-basic');
    const key = v4SigningKey(inputs.access_key_secret, '20231216', inputs.region);
    const a = v4Signature(
      key,
      v4StringToSign('20231216T162057Z', v4Scope('20231216', 'cn-hangzhou'), 'PUT\n/a'),
    );
    const b = v4Signature(
      key,
      v4StringToSign('20231216T162057Z', v4Scope('20231216', 'cn-hangzhou'), 'PUT\n/b'),
    );
    expect(a).not.toBe(b);
  });
});

describe('V1 Authorization header (published vectors)', () => {
  for (const id of ['oss-v1-header-sdk-put', 'oss-v1-header-sdk-put-sts', 'oss-v1-header-doc-example']) {
    it(id, () => {
      const { inputs, expected } = signingVector(id);
      const headers = lower(inputs.headers);
      const [, bucket, key] = /^\/([^/]+)\/(.*)$/.exec(inputs.canonicalized_resource) as unknown as [
        string,
        string,
        string,
      ];
      const stringToSign = v1StringToSign({
        method: inputs.method,
        contentMd5: headers['content-md5'] ?? '',
        contentType: headers['content-type'] ?? '',
        date: inputs.date,
        headers,
        resource: canonicalizedResource(bucket, key, []),
      });
      if (expected.string_to_sign) expect(stringToSign).toBe(expected.string_to_sign);
      expect(`OSS ${inputs.access_key_id}:${hmacSha1Base64(inputs.access_key_secret, stringToSign)}`).toBe(
        expected.authorization,
      );
    });
  }
});

describe('V1 presigned URL (published vector)', () => {
  it('oss-v1-query-sdk-plus-key-sts: the URL as the server receives it yields the signed string', () => {
    const { inputs, expected } = signingVector('oss-v1-query-sdk-plus-key-sts');
    const url = new URL(expected.url as string);
    const address = resolveAddress(url.host, url.pathname);
    expect(address).toMatchObject({ bucket: 'bucket', key: 'key+123', hostRegion: 'cn-hangzhou' });
    const query = parseQuery(url.search.slice(1));
    const resource = canonicalizedResource(address.bucket, address.key, query);
    expect(resource).toBe(inputs.canonicalized_resource);
    const stringToSign = v1StringToSign({
      method: 'GET',
      contentMd5: '',
      contentType: '',
      date: String(inputs.expires),
      headers: {},
      resource,
    });
    expect(hmacSha1Base64(inputs.access_key_secret, stringToSign)).toBe(expected.signature);
    expect(query.find(([name]) => name === 'Signature')?.[1]).toBe(expected.signature);
  });
});

describe('PostObject signatures', () => {
  it('V1: oss-v1-post-java-sdk-1', () => {
    const { inputs, expected } = signingVector('oss-v1-post-java-sdk-1');
    expect(Buffer.from(inputs.policy_base64, 'base64').toString('utf8')).toBe(inputs.policy_json);
    expect(v1PostSignature(inputs.access_key_secret, inputs.policy_base64)).toBe(expected.signature);
  });

  it('V4: the signing key of the published vectors, and the same value ali-oss computes', () => {
    const { inputs, intermediate_computed_here: steps } = signingVector('oss-v4-header-sdk-basic');
    const policy = Buffer.from('{"expiration":"2023-12-17T00:00:00.000Z","conditions":[]}').toString(
      'base64',
    );
    const expected = v4Signature(Buffer.from(steps?.signing_key_hex as string, 'hex'), policy);
    expect(v4PostSignature(inputs.access_key_secret, '20231216', 'cn-hangzhou', policy)).toBe(expected);
    const client = new OSS({
      region: 'oss-cn-hangzhou',
      accessKeyId: inputs.access_key_id,
      accessKeySecret: inputs.access_key_secret,
      bucket: 'bucket',
    }) as OSS & { signPostObjectPolicyV4(policy: string, date: Date): string }; // missing from @types/ali-oss
    expect(
      client.signPostObjectPolicyV4(Buffer.from(policy, 'base64').toString(), new Date(1702743657000)),
    ).toBe(expected);
  });
});

describe('CRC-64/XZ and multipart ETag', () => {
  it('matches the CRC-64/XZ check value and the empty input', () => {
    expect(crc64(Buffer.from('123456789'))).toBe(BigInt('0x995DC9BBDF1939FA').toString());
    expect(crc64(Buffer.alloc(0))).toBe('0');
  });

  it('is incremental: chunks give the value of the whole', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(new Crc64().update(data.subarray(0, 7)).update(data.subarray(7)).digest()).toBe(crc64(data));
  });

  it('multipart ETag is the MD5 of the binary part MD5s plus the part count', () => {
    const parts = ['5D41402ABC4B2A76B9719D911017C592', '7D793037A0760186574B0282F2F435E7'];
    // MD5 over the 32 binary bytes, not over the 64 hex characters.
    const expected = createHash('md5')
      .update(Buffer.concat(parts.map((p) => Buffer.from(p, 'hex'))))
      .digest('hex')
      .toUpperCase();
    expect(multipartEtag(parts)).toBe(`${expected}-2`);
  });
});
