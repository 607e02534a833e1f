/**
 * The local cloud's stack info: where everything in a running local cloud is, and the keys to it. Its own module so
 * tools that only read `stack.json` (the upload CLI) do not load the stand-ins.
 */
import { type Static, Type } from '@sinclair/typebox';

const Endpoint = Type.String({ pattern: '^http://[^\\s/]+:[0-9]{1,5}$' });
const RoleArn = Type.String({ pattern: '^acs:ram::[0-9]+:role/[A-Za-z0-9_.-]+$' });

export const StackInfoSchema = Type.Object(
  {
    region: Type.String({ minLength: 1 }),
    accountId: Type.String({ pattern: '^[0-9]+$' }),
    buckets: Type.Array(Type.String({ minLength: 3 }), { minItems: 1 }),
    oss: Type.Object(
      {
        endpoint: Endpoint,
        publicKeyUrl: Type.String({ minLength: 1 }),
        trustedKeyUrlPrefix: Type.String({ minLength: 1 }),
        publicKeyPem: Type.String({ pattern: '^-----BEGIN PUBLIC KEY-----' }),
      },
      { additionalProperties: false },
    ),
    sts: Type.Object({ endpoint: Endpoint }, { additionalProperties: false }),
    fc: Type.Object({ endpoint: Endpoint }, { additionalProperties: false }),
    kms: Type.Object({ endpoint: Endpoint }, { additionalProperties: false }),
    rootCredentials: Type.Object(
      { accessKeyId: Type.String({ minLength: 1 }), accessKeySecret: Type.String({ minLength: 1 }) },
      { additionalProperties: false },
    ),
    roles: Type.Object(
      { uploader: RoleArn, token: RoleArn, callback: RoleArn, media: RoleArn },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
/** Where everything in a running local cloud is, and the keys to it. */
export type StackInfo = Static<typeof StackInfoSchema>;
