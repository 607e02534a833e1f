/** FC entry of the token function: the shared FC edge around the token app. */
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { createTokenApp } from './app.js';
import { tokenErrorShape } from './responses.js';

// Misconfigured, it still answers a mobile provider's GET in the shape the provider reads.
export const handler = createFcHttpHandler('token', () => createTokenApp(process.env), {
  startupErrorShape: tokenErrorShape([]),
});
