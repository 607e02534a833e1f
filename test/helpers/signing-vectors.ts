/** test/fixtures/signing-vectors.json: published signature test vectors, looked up by id. */
import { readFileSync } from 'node:fs';

const { vectors } = JSON.parse(
  readFileSync(new URL('../fixtures/signing-vectors.json', import.meta.url), 'utf8'),
) as { vectors: Array<{ id: string }> };

/** The OSS SDK's V4 Authorization header vectors: what both the callback's signer and the local OSS must agree on. */
export const OSS_V4_HEADER_VECTORS = [
  'oss-v4-header-sdk-basic',
  'oss-v4-header-sdk-sts-token',
  'oss-v4-header-sdk-additional-headers',
];

/** The OSS SDK's V4 presigned-URL vectors (Python SDK v2). */
export const OSS_V4_QUERY_VECTORS = [
  'oss-v4-query-sdk-basic',
  'oss-v4-query-sdk-sts-token',
  'oss-v4-query-sdk-additional-headers',
];

/** The fields of the OSS vectors (V1 header, query and POST; V4 header and query): each vector has some of them. */
export interface OssSigningVector {
  id: string;
  inputs: {
    access_key_id: string;
    access_key_secret: string;
    security_token: string | null;
    method: string;
    bucket: string;
    key: string;
    region: string;
    sign_time_unix: number;
    x_oss_date: string;
    /** V4 presigned URLs: x-oss-expires. */
    expires_seconds: number;
    headers_before_signing: Record<string, string>;
    headers_added_by_signer: Record<string, string>;
    query: Array<[string, string]>;
    additional_headers_requested: string[];
    headers: Record<string, string>;
    date: string;
    canonicalized_resource: string;
    expires: number;
    policy_json: string;
    policy_base64: string;
  };
  expected: Record<string, string>;
  intermediate_computed_here?: Record<string, string>;
}

/** The vector `id` (typed as the fields the caller reads); fails the test if the fixture lacks it. */
export function signingVector<T extends { id: string } = OssSigningVector>(id: string): T {
  const found = vectors.find((v) => v.id === id);
  if (!found) throw new Error(`vector ${id} missing from test/fixtures/signing-vectors.json`);
  return found as T;
}
