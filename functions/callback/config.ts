/** The callback function's settings: which ones it reads, and their validated, typed form. */

import { createPublicKey } from 'node:crypto';
import type { TrustedCallbackKey } from '../../shared/callback-signature.js';
import { ConfigError, loadSettings, ossEndpoint, parseSetting } from '../../shared/config.js';
import { fcEndpoint } from '../../shared/media-dispatch.js';
import { loadMediaPlanSettings, type MediaPlanSettings } from '../../shared/media-job.js';
import { parseTicketKeyring, type TicketKeyring } from '../../shared/upload-ticket.js';

export const CALLBACK_SETTINGS = [
  'UPCALL_REGION',
  'UPCALL_BUCKET',
  'UPCALL_OSS_ENDPOINT',
  'UPCALL_UPLOADS_PREFIX',
  'UPCALL_TICKET_KEYS',
  'UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX',
  'UPCALL_CALLBACK_TRUSTED_KEY_PEM',
  'UPCALL_CALLBACK_DEADLINE_MS',
  'UPCALL_MEDIA_FUNCTION_NAME',
  'UPCALL_FC_ENDPOINT',
  'UPCALL_DERIVED_PREFIX',
  'UPCALL_THUMBNAIL_SIZES',
  'UPCALL_THUMBNAIL_FORMATS',
] as const;

export interface CallbackConfig {
  region: string;
  bucket: string;
  ossEndpoint: string;
  uploadsPrefix: string;
  ticketKeyring: TicketKeyring;
  /** Extra pinned callback keys (the local cloud's); empty in production. */
  trustedKeys: TrustedCallbackKey[];
  deadlineMs: number;
  mediaFunctionName: string;
  /** FC API endpoint for dispatching media jobs. */
  fcEndpoint: string;
  plan: MediaPlanSettings;
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
    region: s.UPCALL_REGION,
    bucket: s.UPCALL_BUCKET,
    ossEndpoint: ossEndpoint(s.UPCALL_OSS_ENDPOINT, s.UPCALL_REGION),
    uploadsPrefix: s.UPCALL_UPLOADS_PREFIX,
    ticketKeyring: parseSetting('UPCALL_TICKET_KEYS', () => parseTicketKeyring(s.UPCALL_TICKET_KEYS)),
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
    mediaFunctionName: s.UPCALL_MEDIA_FUNCTION_NAME,
    fcEndpoint: parseSetting('UPCALL_FC_ENDPOINT', () =>
      fcEndpoint(s.UPCALL_FC_ENDPOINT, s.UPCALL_REGION, env),
    ),
    plan: loadMediaPlanSettings(env),
  };
}

function validPem(pem: string): string {
  createPublicKey(pem);
  return pem;
}
