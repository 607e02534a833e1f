/** The callback function's settings: which ones it reads, and their validated, typed form. */

import { createPublicKey } from 'node:crypto';
import type { TrustedCallbackKey } from '../../shared/callback-signature.js';
import { ConfigError, loadSettings, ossEndpoint, parseSetting, type Settings } from '../../shared/config.js';
import { fcEndpoint } from '../../shared/fc-async-invoke.js';
import {
  loadMediaPlanSettings,
  type MediaFunctions,
  type MediaPlanSettings,
  mediaFunctions,
} from '../../shared/media-job.js';
import type { TicketKeyring } from '../../shared/upload-ticket.js';
import { verdictSettings } from '../../shared/upload-verdict.js';
import { checkWebhookSecret } from '../../shared/webhook-send.js';

export const CALLBACK_SETTINGS = [
  'UPCALL_REGION',
  'UPCALL_BUCKET',
  'UPCALL_OSS_ENDPOINT',
  'UPCALL_UPLOADS_PREFIX',
  'UPCALL_TICKET_KEYS',
  'UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX',
  'UPCALL_CALLBACK_TRUSTED_KEY_PEM',
  'UPCALL_CALLBACK_DEADLINE_MS',
  'UPCALL_MEDIA_IMAGE_FUNCTION_NAME',
  'UPCALL_MEDIA_VIDEO_FUNCTION_NAME',
  'UPCALL_FC_ENDPOINT',
  'UPCALL_DERIVED_PREFIX',
  'UPCALL_THUMBNAIL_SIZES',
  'UPCALL_THUMBNAIL_FORMATS',
  'UPCALL_UPLOAD_HOOK_URL',
  'UPCALL_WEBHOOK_SECRET',
  'UPCALL_UPLOAD_HOOK_TIMEOUT_MS',
  'UPCALL_UPLOAD_HOOK_FAILURE_POLICY',
] as const;

/** The application's upload hook (`upload.completed`, synchronous, inside OSS's callback budget). */
export interface UploadHookConfig {
  url: string;
  secret: string;
  timeoutMs: number;
  /** What a hook that times out or fails means: refuse to confirm the upload, or accept it and tell it later. */
  failurePolicy: 'fail' | 'accept';
}

export interface CallbackConfig {
  region: string;
  bucket: string;
  ossEndpoint: string;
  uploadsPrefix: string;
  ticketKeyring: TicketKeyring;
  /** Extra pinned callback keys (the local cloud's); empty in production. */
  trustedKeys: TrustedCallbackKey[];
  deadlineMs: number;
  /** Where media jobs (by kind) and deferred webhook deliveries (the image function) are queued. */
  mediaFunctions: MediaFunctions;
  /** FC API endpoint for dispatching media jobs. */
  fcEndpoint: string;
  plan: MediaPlanSettings;
  /** Absent: no upload hook configured. */
  uploadHook?: UploadHookConfig;
}

export function loadCallbackConfig(env: NodeJS.ProcessEnv): CallbackConfig {
  const s = loadSettings(CALLBACK_SETTINGS, env);
  const keyUrlPrefix = s.UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX;
  const keyPem = s.UPCALL_CALLBACK_TRUSTED_KEY_PEM;
  if ((keyUrlPrefix === '') !== (keyPem === '')) {
    throw new ConfigError([
      'UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX and UPCALL_CALLBACK_TRUSTED_KEY_PEM must be set together (local cloud only)',
    ]);
  }
  return {
    ...verdictSettings(s),
    region: s.UPCALL_REGION,
    ossEndpoint: ossEndpoint(s.UPCALL_OSS_ENDPOINT, s.UPCALL_REGION),
    trustedKeys:
      keyUrlPrefix === ''
        ? []
        : [
            {
              urlPrefix: keyUrlPrefix,
              publicKeyPem: parseSetting('UPCALL_CALLBACK_TRUSTED_KEY_PEM', () => validPem(keyPem)),
            },
          ],
    deadlineMs: s.UPCALL_CALLBACK_DEADLINE_MS,
    mediaFunctions: mediaFunctions(s),
    fcEndpoint: parseSetting('UPCALL_FC_ENDPOINT', () =>
      fcEndpoint(s.UPCALL_FC_ENDPOINT, s.UPCALL_REGION, env),
    ),
    plan: loadMediaPlanSettings(env),
    ...uploadHookConfig(s),
  };
}

function uploadHookConfig(s: Settings<(typeof CALLBACK_SETTINGS)[number]>): {
  uploadHook?: UploadHookConfig;
} {
  if (s.UPCALL_UPLOAD_HOOK_URL === '') return {};
  if (s.UPCALL_WEBHOOK_SECRET === '') {
    throw new ConfigError(['UPCALL_WEBHOOK_SECRET is required when UPCALL_UPLOAD_HOOK_URL is set']);
  }
  return {
    uploadHook: {
      url: s.UPCALL_UPLOAD_HOOK_URL,
      secret: parseSetting('UPCALL_WEBHOOK_SECRET', () => {
        checkWebhookSecret(s.UPCALL_WEBHOOK_SECRET);
        return s.UPCALL_WEBHOOK_SECRET;
      }),
      timeoutMs: s.UPCALL_UPLOAD_HOOK_TIMEOUT_MS,
      failurePolicy: s.UPCALL_UPLOAD_HOOK_FAILURE_POLICY,
    },
  };
}

function validPem(pem: string): string {
  createPublicKey(pem);
  return pem;
}
