/** The token function assembled from the environment: config, the STS client, and the core handler. */
import type { EdgeApp } from '../../shared/http/edge.js';
import { loadTokenConfig } from './config.js';
import { reusingCredentials } from './credential-reuse.js';
import { createTokenHandler } from './handler.js';
import { createStsAssumeRole } from './sts.js';

/** Throws ConfigError naming the bad setting. */
export function createTokenApp(env: NodeJS.ProcessEnv): EdgeApp {
  const config = loadTokenConfig(env);
  return createTokenHandler(config, {
    assumeRole: reusingCredentials(createStsAssumeRole({ endpoint: config.stsEndpoint })),
    env,
  });
}
