import { afterAll, describe, expect, it } from 'vitest';
import { AcsRequestVerifier, acs3CanonicalRequest, acs3Signature } from '../../local/acs-signature.js';
import type { EdgeRequest } from '../../shared/http/edge.js';
import { createTestAccount } from '../helpers/test-account.js';

const SKEW_MS = 15 * 60_000;

describe('the local cloud’s ACS3 verifier remembers signature nonces for the skew window', () => {
  const local = createTestAccount();
  afterAll(() => local.close());

  /** A root-signed ACS3 request at `at` carrying `nonce`. */
  function signed(at: number, nonce: string): EdgeRequest {
    const headers: Record<string, string> = {
      host: 'fc.local',
      'x-acs-action': 'InvokeFunction',
      'x-acs-version': '2023-03-30',
      'x-acs-date': new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-acs-signature-nonce': nonce,
      'x-acs-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    };
    const names = Object.keys(headers).sort();
    const request = { method: 'POST', path: '/', query: '', headers, body: Buffer.alloc(0) };
    headers.authorization = `ACS3-HMAC-SHA256 Credential=${local.root.accessKeyId},SignedHeaders=${names.join(';')},Signature=${acs3Signature(local.root.accessKeySecret, acs3CanonicalRequest(request, names))}`;
    return { ...request, requestId: 'r', sourceIp: '127.0.0.1' };
  }

  it('refuses a nonce seen within the window and accepts it again once the window has passed', () => {
    const verifier = new AcsRequestVerifier(local.account, { allowRpc: false });
    const t0 = Date.parse('2026-12-03T10:00:00Z');
    expect(verifier.verify(signed(t0, 'n-1'), t0)).toMatchObject({ ok: true });
    expect(verifier.verify(signed(t0 + 1000, 'n-2'), t0 + 1000)).toMatchObject({ ok: true });
    expect(verifier.verify(signed(t0 + 2000, 'n-1'), t0 + 2000)).toMatchObject({
      ok: false,
      kind: 'SignatureNonceUsed',
    });
    // Past the first nonce's window but not the second's: the first is forgotten, the second still refused.
    const later = t0 + SKEW_MS + 500;
    expect(verifier.verify(signed(later, 'n-1'), later)).toMatchObject({ ok: true });
    expect(verifier.verify(signed(later, 'n-2'), later)).toMatchObject({
      ok: false,
      kind: 'SignatureNonceUsed',
    });
  });
});
