/**
 * `npm run openapi`: writes `openapi.json`, the OpenAPI 3.1 description of what clients of upcall see — the token
 * endpoint (POST JSON API and the mobile providers' GET, with every error code), the callback's answer that OSS
 * passes on to the uploader, and the webhook payloads — generated from the TypeBox schemas the functions validate
 * with, so it cannot drift from them (test/openapi/openapi.test.ts checks the file is current and that real answers
 * of the dev stack match it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { TOKEN_QUERY_PARAMETER } from '../functions/token/auth.js';
import { MobileCredentialsSchema, MobileErrorSchema } from '../functions/token/responses.js';
import { CallbackAnswerSchema } from '../shared/callback-contract.js';
import {
  FormGrantSchema,
  MultipartCompleteGrantSchema,
  MultipartCompleteRequestSchema,
  MultipartGrantSchema,
  MultipartPartsGrantSchema,
  MultipartPartsRequestSchema,
  PutGrantSchema,
  TokenRequestSchema,
  TokenResponseSchema,
} from '../shared/token-contract.js';
import {
  MediaFailedEventSchema,
  MediaReadyEventSchema,
  UploadCompletedEventSchema,
} from '../shared/webhook-events.js';

/**
 * The token endpoint's error codes by status (README "The token endpoint" explains each). 502 also carries
 * `Sts.<STS's own code>` when STS refused AssumeRole.
 */
export const TOKEN_ERROR_CODES: Record<number, string[]> = {
  400: [
    'InvalidJson',
    'InvalidRequest',
    'ContentTypeNotAllowed',
    'MaxUploadBytesExceeded',
    'ContentTypeRequired',
    'InvalidKey',
  ],
  401: ['TokenMissing', 'TokenInvalid', 'TokenExpired', 'TokenClaimRejected', 'TokenUserMissing'],
  403: [
    'UserIdUnusable',
    'OriginNotAllowed',
    'KeyOutsidePrefix',
    'TicketNotYours',
    'TicketMissing',
    'TicketMalformed',
    'TicketUnknownKey',
    'TicketInvalid',
    'TicketExpired',
  ],
  405: ['MethodNotAllowed'],
  500: ['ConfigInvalid', 'CredentialsMissing', 'InternalError'],
  502: ['StsUnavailable', 'OssUnavailable'],
  503: ['StsThrottled', 'JwksUnavailable', 'SecretsUnavailable'],
};
const STS_REFUSAL_PATTERN = '^Sts\\.[A-Za-z.]+$';

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not one the endpoint accepts.',
  401: 'No caller token, or one that does not verify.',
  403: 'Not this caller’s (origin, prefix, ticket).',
  405: 'Not GET, POST or OPTIONS.',
  500: 'The function is misconfigured or failed; the message names the log line (requestId).',
  502: 'STS or OSS refused or could not be reached.',
  503: 'STS is throttling (Retry-After), or the identity provider’s keys or the secrets cannot be fetched.',
};

/** A TypeBox schema as plain JSON Schema (TypeBox's symbol keys dropped). */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema));
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });

function errorSchema(status: number) {
  const codes = TOKEN_ERROR_CODES[status] ?? [];
  const code =
    status === 502
      ? { anyOf: [{ enum: codes }, { type: 'string', pattern: STS_REFUSAL_PATTERN }] }
      : { enum: codes };
  return {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'requestId'],
        additionalProperties: false,
        properties: { code, message: { type: 'string' }, requestId: { type: 'string' } },
      },
    },
  };
}

export function openApiDocument() {
  const grants = [
    'TokenResponse',
    'FormGrant',
    'PutGrant',
    'MultipartGrant',
    'MultipartPartsGrant',
    'MultipartCompleteGrant',
  ];
  const errorResponses = Object.fromEntries(
    Object.keys(TOKEN_ERROR_CODES).map((status) => [
      status,
      {
        description: `${DESCRIPTIONS[Number(status)]} Codes: ${(TOKEN_ERROR_CODES[Number(status)] ?? []).join(', ')}${status === '502' ? ', Sts.<STS code>' : ''}.`,
        content: json(ref(`TokenError${status}`)),
      },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'upcall',
      version: '0.1.0',
      description:
        'Direct-to-OSS uploads: the token endpoint grants an upload (a signed form, a presigned PUT, a presigned ' +
        'multipart upload, or STS credentials), OSS calls the callback function, which answers the uploader ' +
        '(`CallbackAnswer`, passed on by OSS), and the application hears of uploads and media through signed ' +
        'webhooks (Standard Webhooks).',
    },
    servers: [
      { url: 'https://{tokenFunction}', variables: { tokenFunction: { default: 'token.example.com' } } },
    ],
    security: [{ bearer: [] }],
    paths: {
      '/': {
        post: {
          operationId: 'grantUpload',
          summary: 'A grant for one upload, or a follow-up of a multipart grant (part URLs, the Complete)',
          requestBody: {
            required: false,
            content: json({
              oneOf: [ref('TokenRequest'), ref('MultipartPartsRequest'), ref('MultipartCompleteRequest')],
            }),
          },
          responses: {
            200: {
              description: 'The grant asked for by `grant` (`credentials` when absent).',
              content: json({ oneOf: grants.map(ref) }),
            },
            ...errorResponses,
          },
        },
        get: {
          operationId: 'mobileCredentials',
          summary: 'STS credentials in the shape the stock Android/iOS federation providers parse',
          description:
            'Errors are answered with HTTP 200 and the real status in `StatusCode` (Android reads only 2xx bodies).',
          parameters: [
            {
              name: TOKEN_QUERY_PARAMETER,
              in: 'query',
              required: false,
              description:
                'The caller JWT, for providers that cannot send headers (prefer the Authorization header).',
              schema: { type: 'string' },
            },
          ],
          responses: {
            200: {
              description: 'Credentials, or an error in the mobile shape.',
              content: json({ oneOf: [ref('MobileCredentials'), ref('MobileError')] }),
            },
          },
        },
      },
    },
    webhooks: {
      'upload.completed': webhook('UploadCompletedEvent', 'An upload was accepted (also the upload hook).'),
      'media.ready': webhook('MediaReadyEvent', 'A media job succeeded; `data` is its manifest.'),
      'media.failed': webhook('MediaFailedEvent', 'A media job failed for good; `data` is its manifest.'),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        TokenRequest: plain(TokenRequestSchema),
        MultipartPartsRequest: plain(MultipartPartsRequestSchema),
        MultipartCompleteRequest: plain(MultipartCompleteRequestSchema),
        TokenResponse: plain(TokenResponseSchema),
        FormGrant: plain(FormGrantSchema),
        PutGrant: plain(PutGrantSchema),
        MultipartGrant: plain(MultipartGrantSchema),
        MultipartPartsGrant: plain(MultipartPartsGrantSchema),
        MultipartCompleteGrant: plain(MultipartCompleteGrantSchema),
        MobileCredentials: plain(MobileCredentialsSchema),
        MobileError: plain(MobileErrorSchema),
        ...Object.fromEntries(
          Object.keys(TOKEN_ERROR_CODES).map((s) => [`TokenError${s}`, errorSchema(Number(s))]),
        ),
        CallbackAnswer: plain(CallbackAnswerSchema),
        UploadCompletedEvent: plain(UploadCompletedEventSchema),
        MediaReadyEvent: plain(MediaReadyEventSchema),
        MediaFailedEvent: plain(MediaFailedEventSchema),
      },
    },
  };
}

function webhook(schema: string, description: string) {
  return {
    post: {
      description: `${description} Signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).`,
      requestBody: { required: true, content: json(ref(schema)) },
      responses: { 200: { description: 'Received (any 2xx).' } },
    },
  };
}

/** The file's text: what `npm run openapi` writes and the test compares. */
export const openApiText = () => `${JSON.stringify(openApiDocument(), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(join(import.meta.dirname, '..', 'openapi.json'), openApiText());
}
