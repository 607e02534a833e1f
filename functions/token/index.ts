/** FC entry of the token function: the shared FC edge around the token core, configured from the environment. */
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { loadTokenConfig } from './config.js';
import { createTokenHandler } from './handler.js';
import { createStsAssumeRole } from './sts.js';

export const handler = createFcHttpHandler('token', () => {
  const config = loadTokenConfig(process.env);
  return createTokenHandler(config, {
    assumeRole: createStsAssumeRole({ endpoint: config.stsEndpoint }),
    env: process.env,
  });
});
