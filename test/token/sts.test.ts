/** The session policy an uploader's STS credentials carry (sts.ts). */
import { describe, expect, it } from 'vitest';
import { uploadSessionPolicy } from '../../functions/token/sts.js';

describe('session policy', () => {
  it('allows the three upload actions on the prefix, and reading only the outputs derived from it', () => {
    expect(JSON.parse(uploadSessionPolicy('bkt', 'uploads/bob/', 'derived/uploads/bob/'))).toEqual({
      Version: '1',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts'],
          Resource: ['acs:oss:*:*:bkt/uploads/bob/*'],
        },
        { Effect: 'Allow', Action: ['oss:GetObject'], Resource: ['acs:oss:*:*:bkt/derived/uploads/bob/*'] },
      ],
    });
  });
});
