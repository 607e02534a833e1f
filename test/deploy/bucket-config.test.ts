/**
 * deploy/oss/: the bucket's CORS rule and lifecycle rules README "Deploy" has ossutil put. Rendered the way
 * `npm run bucket-config` renders them, parsed as XML and checked against what the product does: the methods the
 * client library sends and the headers it reads, the tag the callback puts on refused uploads, the prefixes the
 * functions use, and the longest upload ticket and media job the settings allow.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { OSS_READ_HEADERS, REQUEST_METHODS } from '../../client/transport.js';
import { bucketValuesFromEnv, renderBucketConfig } from '../../scripts/bucket-config.js';
import { UPLOAD_STATUS_REJECTED, UPLOAD_STATUS_TAG } from '../../shared/callback-contract.js';
import { ConfigError, SETTINGS } from '../../shared/config.js';

const ORIGINS = ['https://app.example.com', 'https://admin.example.com:8443'];
const ENV = {
  UPCALL_UPLOADS_PREFIX: 'incoming/',
  UPCALL_DERIVED_PREFIX: 'processed/',
  UPCALL_CORS_ORIGINS: ORIGINS.join(','),
};
const DAY_SECONDS = 86_400;

// Lists stay lists even with one element, as OSS reads repeated elements.
const parser = new XMLParser({
  parseTagValue: false,
  ignoreDeclaration: true,
  isArray: (name) => ['AllowedOrigin', 'AllowedMethod', 'ExposeHeader', 'Rule'].includes(name),
});

interface LifecycleRule {
  ID: string;
  Prefix: string;
  Status: string;
  Tag?: { Key: string; Value: string };
  Expiration?: { Days: string };
  AbortMultipartUpload?: { Days: string };
}

let outDir: string | undefined;
afterEach(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  outDir = undefined;
});

function render(env: Record<string, string>): Record<string, unknown> {
  outDir = mkdtempSync(join(tmpdir(), 'upcall-'));
  const documents: Record<string, unknown> = {};
  for (const path of renderBucketConfig(bucketValuesFromEnv(env), outDir)) {
    const text = readFileSync(path, 'utf8');
    expect(text, path).not.toContain('${');
    expect(XMLValidator.validate(text), path).toBe(true);
    documents[path.slice(outDir.length + 1)] = parser.parse(text);
  }
  return documents;
}

describe('deploy/oss', () => {
  it('allows the configured origins every method the client library sends and exposes every header it reads', () => {
    const { CORSConfiguration } = render(ENV)['cors.xml'] as {
      CORSConfiguration: {
        CORSRule: {
          AllowedOrigin: string[];
          AllowedMethod: string[];
          ExposeHeader: string[];
          AllowedHeader: string;
        };
      };
    };
    const rule = CORSConfiguration.CORSRule;
    expect(rule.AllowedOrigin).toEqual(ORIGINS);
    expect(rule.AllowedMethod).toEqual(expect.arrayContaining([...REQUEST_METHODS]));
    // Browsers compare exposed header names case-insensitively; OSS spells ETag its way.
    const exposed = rule.ExposeHeader.map((name) => name.toLowerCase());
    expect(exposed).toEqual(expect.arrayContaining(Object.values(OSS_READ_HEADERS)));
    // Signed requests carry x-oss-* and Authorization headers: a preflight must not refuse them.
    expect(rule.AllowedHeader).toBe('*');
  });

  it('expires what the callback tags refused, under the uploads prefix, and aborts stale multipart uploads after the longest ticket and media job', () => {
    const rules = (render(ENV)['lifecycle.xml'] as { LifecycleConfiguration: { Rule: LifecycleRule[] } })
      .LifecycleConfiguration.Rule;
    for (const rule of rules) expect(rule.Status, rule.ID).toBe('Enabled');

    const expiring = rules.filter((rule) => rule.Expiration);
    expect(expiring).toHaveLength(1); // nothing else upcall stores is ever deleted by a rule
    expect(expiring[0]).toMatchObject({
      Prefix: ENV.UPCALL_UPLOADS_PREFIX,
      Tag: { Key: UPLOAD_STATUS_TAG, Value: UPLOAD_STATUS_REJECTED },
    });
    expect(Number(expiring[0]?.Expiration?.Days)).toBeGreaterThan(0);

    const abortDays = (prefix: string) =>
      Number(
        rules.find((rule) => rule.Prefix === prefix && rule.AbortMultipartUpload)?.AbortMultipartUpload?.Days,
      );
    // An upload may complete until its ticket expires; an output until its job's FC timeout ends it.
    const longestTicket = SETTINGS.UPCALL_TICKET_TTL_SECONDS.schema.maximum as number;
    const longestJob = SETTINGS.UPCALL_MEDIA_TIMEOUT_SECONDS.schema.maximum as number;
    expect(abortDays(ENV.UPCALL_UPLOADS_PREFIX) * DAY_SECONDS).toBeGreaterThanOrEqual(longestTicket);
    expect(abortDays(ENV.UPCALL_DERIVED_PREFIX) * DAY_SECONDS).toBeGreaterThanOrEqual(longestJob);
  });

  it('writes no CORS rule when no browser origin is allowed, and names a bad setting', () => {
    expect(Object.keys(render({ UPCALL_CORS_ORIGINS: '' }))).toEqual(['lifecycle.xml']);
    expect(readdirSync(outDir as string)).toEqual(['lifecycle.xml']);
    const attempt = () => bucketValuesFromEnv({ UPCALL_UPLOADS_PREFIX: '/abs' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/UPCALL_UPLOADS_PREFIX/);
  });
});
