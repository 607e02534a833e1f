/**
 * Sending an upload callback as OSS does: POST the rendered body to each URL in turn until one answers exactly 200
 * with a Content-Length and a JSON body (≤ 1 MB) within the timeout; signed RSA-MD5 over path, query and body.
 */
import { createHash, type KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { CallbackParam } from './callback-param.js';
import { signCallback } from './callback-signing.js';

export interface CallbackDelivery {
  privateKey: KeyObject;
  /** The key URL named (base64) in `x-oss-pub-key-url`. */
  publicKeyUrl: string;
  bucket: string;
  requestId: string;
  /** Account that owns the bucket (`x-oss-owner`) and that made the upload (`x-oss-requester`). */
  ownerId: string;
  requesterId: string;
  timeoutMs: number;
}

export type CallbackOutcome = { ok: true; body: Buffer } | { ok: false; message: string; ec: string };

const MAX_REPLY_BYTES = 1024 * 1024;

const failure = (message: string, ec: string): CallbackOutcome => ({ ok: false, message, ec });

function attempt(
  url: URL,
  param: CallbackParam,
  body: Buffer,
  delivery: CallbackDelivery,
): Promise<CallbackOutcome> {
  const path = url.pathname;
  const query = url.search.slice(1);
  const headers: Record<string, string> = {
    Host: param.host ?? url.host,
    Authorization: signCallback(delivery.privateKey, path, query, body),
    'Content-MD5': createHash('md5').update(body).digest('base64'),
    'Content-Length': String(body.length),
    'Content-Type': param.bodyType,
    Date: new Date().toUTCString(),
    'User-Agent': 'aliyun-oss-callback',
    'x-oss-bucket': delivery.bucket,
    'x-oss-owner': delivery.ownerId,
    'x-oss-pub-key-url': Buffer.from(delivery.publicKeyUrl).toString('base64'),
    'x-oss-request-id': delivery.requestId,
    'x-oss-requester': delivery.requesterId,
    'x-oss-signature-version': '1.0',
    'x-oss-tag': 'CALLBACK',
    Connection: 'close',
  };
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: CallbackOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    };
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      { method: 'POST', headers, agent: false, setHost: false },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          settle(failure(`Error status : ${status}.`, '0007-00000203'));
          return;
        }
        const length = Number(response.headers['content-length']);
        if (response.headers['content-length'] === undefined || !(length <= MAX_REPLY_BYTES)) {
          settle(
            failure('Error status : 400. User server return too long content-length value.', '0007-00000203'),
          );
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', () =>
          settle(failure('Error status : -1. The callback reply was cut off.', '0007-00000203')),
        );
        response.on('end', () => {
          const reply = Buffer.concat(chunks);
          try {
            JSON.parse(reply.toString('utf8'));
          } catch {
            settle(failure('Response body is not valid json format.', '0007-00000205'));
            return;
          }
          settle({ ok: true, body: reply });
        });
      },
    );
    const timer = setTimeout(() => {
      const cost = Date.now() - started;
      settle(
        failure(
          `Error status : -1. Callback reply timeout, cost: ${cost} MS, timeout: ${delivery.timeoutMs} MS`,
          '0007-00000202',
        ),
      );
    }, delivery.timeoutMs);
    request.on('error', () =>
      settle(
        failure(
          'Error status : -1. OSS can not connect to your callbackUrl, please check it.',
          '0007-00000203',
        ),
      ),
    );
    request.end(body);
  });
}

/** Try each URL in order; the first success wins, otherwise the last failure is the answer. */
export async function deliverCallback(
  param: CallbackParam,
  body: Buffer,
  delivery: CallbackDelivery,
): Promise<CallbackOutcome> {
  let outcome: CallbackOutcome = failure('Error status : -1. No callback URL.', '0007-00000203');
  for (const url of param.urls) {
    outcome = await attempt(url, param, body, delivery);
    if (outcome.ok) return outcome;
  }
  return outcome;
}
