import { describe, expect, it } from 'vitest';
import { loadCallbackConfig } from '../../functions/callback/config.js';
import { loadMediaConfig } from '../../functions/media/config.js';
import {
  mediaResultMessage,
  outboxRecord,
  outboxRecordValidator,
  webhookEventValidator,
  webhookId,
} from '../../shared/webhook-events.js';
import { ETAG } from '../helpers/callback-core.js';
import { configError } from '../helpers/config.js';
import { MANIFEST, OBJECT, SECRET, uploadMessage } from '../helpers/webhook-fixtures.js';

describe('events and ids', () => {
  it('derives one id per object version and hook, usable as an FC task id with an attempt suffix', () => {
    expect(webhookId('upload', OBJECT)).toBe(webhookId('upload', { ...OBJECT }));
    expect(webhookId('upload', OBJECT)).not.toBe(webhookId('media', OBJECT));
    expect(webhookId('upload', OBJECT)).not.toBe(
      webhookId('upload', { ...OBJECT, etag: ETAG.replace('0', '1') }),
    );
    expect(`${webhookId('media', OBJECT)}-12`).toMatch(/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/);
  });

  it('builds events that match the published schemas, with stable bodies', () => {
    const upload = JSON.parse(uploadMessage().payload);
    expect(webhookEventValidator.validate(upload).ok).toBe(true);
    expect(upload).toMatchObject({ type: 'upload.completed', timestamp: '2026-01-02T00:00:00.000Z' });
    expect(uploadMessage().payload).toBe(uploadMessage().payload);
    const ready = mediaResultMessage(MANIFEST);
    const failed = mediaResultMessage({
      ...MANIFEST,
      status: 'failed',
      error: { code: 'CorruptMedia', message: 'x' },
    });
    expect([ready.type, failed.type]).toEqual(['media.ready', 'media.failed']);
    expect(ready.id).toBe(failed.id);
    expect(webhookEventValidator.validate(JSON.parse(failed.payload)).ok).toBe(true);
    expect(outboxRecordValidator.validate(outboxRecord(ready, 1)).ok).toBe(true);
  });
});

describe('settings', () => {
  const callbackEnv = {
    UPCALL_BUCKET: 'upcall-test',
    UPCALL_TICKET_KEYS: `k1:${'t'.repeat(32)}`,
    UPCALL_FC_ENDPOINT: 'http://127.0.0.1:2',
  };
  const problem = (load: () => unknown) => configError(load)?.message ?? null;

  it('leaves the hooks off by default', () => {
    expect(loadCallbackConfig(callbackEnv).uploadHook).toBeUndefined();
    expect(loadMediaConfig(callbackEnv).webhooks).toBeUndefined();
  });

  it('reads them when a URL is set, and names what is wrong without echoing the secret', () => {
    const hooked = { ...callbackEnv, UPCALL_UPLOAD_HOOK_URL: 'https://app.example/hooks' };
    expect(problem(() => loadCallbackConfig(hooked))).toMatch(/UPCALL_WEBHOOK_SECRET is required/);
    const short = `whsec_${Buffer.alloc(8).toString('base64')}`;
    const message = problem(() => loadCallbackConfig({ ...hooked, UPCALL_WEBHOOK_SECRET: short }));
    expect(message).toMatch(/UPCALL_WEBHOOK_SECRET must be whsec_/);
    expect(message).not.toContain(short);
    expect(loadCallbackConfig({ ...hooked, UPCALL_WEBHOOK_SECRET: SECRET }).uploadHook).toEqual({
      url: 'https://app.example/hooks',
      secret: SECRET,
      timeoutMs: 2000,
      failurePolicy: 'fail',
    });
    const media = {
      ...callbackEnv,
      UPCALL_MEDIA_HOOK_URL: 'https://app.example/media',
      UPCALL_WEBHOOK_SECRET: SECRET,
    };
    expect(loadMediaConfig(media).webhooks).toMatchObject({
      urls: { upload: null, media: 'https://app.example/media' },
      retryDelaysSeconds: [10, 60, 300, 1800, 3600, 3600, 3600, 3600],
    });
    expect(
      problem(() => loadMediaConfig({ ...media, UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS: '10,3601' })),
    ).toMatch(/UPCALL_WEBHOOK_RETRY_SCHEDULE_SECONDS delays are at most 3600/);
  });
});
