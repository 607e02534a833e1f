/**
 * What `npm run dev` writes to `<data dir>/stack.json`: the local cloud's stack info plus the functions' URLs, the
 * demo page and the dev user auth, so a script (the upload CLI, curl) needs nothing else.
 */
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { compileSchema, formatIssues } from '../../shared/schema.js';
import { StackInfoSchema } from '../stack-info.js';

const Url = Type.String({ pattern: '^http://[^\\s/]+:[0-9]{1,5}/' });

export const DevStackInfoSchema = Type.Object(
  {
    ...StackInfoSchema.properties,
    /** The bucket the functions use (one of `buckets`). */
    bucket: Type.String({ minLength: 3 }),
    /** The token function (POST JSON API, GET for the mobile providers). */
    token: Type.Object({ url: Url }, { additionalProperties: false }),
    /** The callback function: the `callbackUrl` the local OSS calls. */
    callback: Type.Object({ url: Url }, { additionalProperties: false }),
    /** The browser demo page. */
    demo: Type.Object({ url: Url }, { additionalProperties: false }),
    /** Sign in as anyone: JWTs signed with `jwtSecret` (HS256, user id in `sub`) are what the token function takes. */
    devAuth: Type.Object(
      {
        jwtSecret: Type.String({ minLength: 32 }),
        /** A ready-made caller token for `user`, valid until `expiresAt`. */
        user: Type.String({ minLength: 1 }),
        jwt: Type.String({ minLength: 1 }),
        expiresAt: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type DevStackInfo = Static<typeof DevStackInfoSchema>;

const validator = compileSchema(DevStackInfoSchema);

/** Read and validate a dev stack's stack.json; throws with a message saying what is wrong. */
export function readDevStackInfo(file: string): DevStackInfo {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${file} does not exist: start the dev stack with \`npm run dev\``
        : `${file} is not readable JSON: ${(error as Error).message}`,
    );
  }
  const checked = validator.validate(value);
  if (!checked.ok) {
    throw new Error(
      `${file} is not a dev stack's stack info (written by \`npm run dev\`, not \`npm run local-cloud\`?): ${formatIssues(checked.issues)}`,
    );
  }
  return checked.value;
}
