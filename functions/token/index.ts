/** FC entry of the token function: the shared FC edge around the token app. */
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { createTokenApp } from './app.js';
import { TOKEN_SETTINGS } from './config.js';
import { tokenErrorShape } from './responses.js';

export const handler = createFcHttpHandler('token', (_log, env) => createTokenApp(env), {
  settings: TOKEN_SETTINGS,
  // Misconfigured, it still answers a mobile provider's GET in the shape the provider reads.
  startupErrorShape: tokenErrorShape([]),
});
