/**
 * The local KMS Secrets Manager: `GetSecretValue` over KMS's RPC-style API (`POST /`, action and version in
 * `x-acs-action`/`x-acs-version` or the `Action`/`Version` parameters, `SecretName` a parameter), written from KMS's
 * API reference (2016-01-20). Requests are authenticated against the local account like the local STS's (ACS3 or
 * RPC HMAC-SHA1) and authorised by `kms:GetSecretValue` on `acs:kms:<region>:<account>:secret/<name>`; errors come
 * in KMS's JSON shape. Secrets live in memory, put by whoever starts it (`putSecret`; a put is a new version, as a
 * rotation is). Differences from KMS: local/README.md.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { EdgeRequest, EdgeResponse } from '../../shared/http/edge.js';
import { jsonResponse } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger } from '../../shared/log.js';
import { AcsRequestVerifier, GATEWAY_AUTH_ERRORS, requestParams } from '../acs-signature.js';
import { LocalAccount } from '../credentials.js';
import { closeServer, listen } from '../listen.js';

const API_VERSION = '2016-01-20';

interface StoredSecret {
  data: string;
  versionId: string;
  createTime: string;
}

/** What the stand-in saw of one request, for assertions. */
export interface KmsCallRecord {
  action: string;
  secretName?: string;
  accessKeyId?: string;
  status: number;
  code?: string;
}

export interface LocalKms {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** Create the secret, or give it a new current version (a rotation). */
  putSecret(name: string, data: string): void;
  calls(): KmsCallRecord[];
  close(): Promise<void>;
}

class KmsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class KmsService {
  readonly secrets = new Map<string, StoredSecret>();
  readonly records: KmsCallRecord[] = [];
  private readonly verifier: AcsRequestVerifier;

  constructor(
    private readonly account: LocalAccount,
    private readonly region: string,
  ) {
    this.verifier = new AcsRequestVerifier(account, { allowRpc: true });
  }

  handle(raw: EdgeRequest): EdgeResponse {
    const request = { ...raw, requestId: randomUUID() };
    const params = new Map(requestParams(request));
    const action = request.headers['x-acs-action'] ?? params.get('Action') ?? '';
    const record: KmsCallRecord = { action, status: 200 };
    this.records.push(record);
    try {
      const body = this.answer(request, params, action, record);
      return jsonResponse(200, { RequestId: request.requestId, ...body });
    } catch (error) {
      if (!(error instanceof KmsError)) throw error;
      record.status = error.status;
      record.code = error.code;
      return jsonResponse(error.status, {
        RequestId: request.requestId,
        HostId: request.headers.host ?? `kms.${this.region}.aliyuncs.com`,
        Code: error.code,
        Message: error.message,
      });
    }
  }

  private answer(
    request: EdgeRequest,
    params: Map<string, string>,
    action: string,
    record: KmsCallRecord,
  ): Record<string, unknown> {
    const version = request.headers['x-acs-version'] ?? params.get('Version') ?? '';
    if (action !== 'GetSecretValue' || version !== API_VERSION) {
      throw new KmsError(
        404,
        'InvalidAction.NotFound',
        'Specified api is not found, please check your url and method.',
      );
    }
    const check = this.verifier.verify(request);
    if (!check.ok) {
      const failure = GATEWAY_AUTH_ERRORS[check.kind];
      throw new KmsError(failure.status, failure.code, failure.message);
    }
    record.accessKeyId = check.accessKeyId;
    const name = params.get('SecretName') ?? '';
    record.secretName = name;
    if (name === '') throw new KmsError(400, 'MissingParameter', 'The parameter SecretName is required.');
    // A secret is named by its name or its ARN; the policy names the ARN.
    const arnPrefix = `acs:kms:${this.region}:${this.account.accountId}:secret/`;
    const secretName = name.startsWith(arnPrefix) ? name.slice(arnPrefix.length) : name;
    if (!LocalAccount.permits(check.caller, 'kms:GetSecretValue', arnPrefix + secretName)) {
      throw new KmsError(
        403,
        'Forbidden.RAM',
        'User not authorized to operate on the specified resource, or this API does not support RAM.',
      );
    }
    const secret = this.secrets.get(secretName);
    if (!secret) throw new KmsError(404, 'Forbidden.ResourceNotFound', 'The resource is not found.');
    return {
      SecretName: secretName,
      VersionId: secret.versionId,
      CreateTime: secret.createTime,
      SecretData: secret.data,
      SecretDataType: 'text',
      VersionStages: { VersionStage: ['ACSCurrent'] },
      SecretType: 'Generic',
    };
  }
}

export async function startLocalKms(options: {
  account: LocalAccount;
  region: string;
  port?: number;
  host?: string;
}): Promise<LocalKms> {
  const log = createLogger('local-kms');
  const service = new KmsService(options.account, options.region);
  const server = createServer(
    createNodeListener(
      { handle: async (request) => service.handle(request) },
      { log, maxBodyBytes: 64 * 1024 },
    ),
  );
  const { endpoint } = await listen(server, options.port, options.host);
  let versions = 0;
  return {
    endpoint,
    putSecret(name, data) {
      versions += 1;
      service.secrets.set(name, {
        data,
        versionId: String(versions).padStart(32, '0'),
        createTime: `${new Date().toISOString().slice(0, 19)}Z`,
      });
    },
    calls: () => service.records.map((record) => ({ ...record })),
    close: () => closeServer(server),
  };
}
