/** FC entry of the callback function: the shared FC edge around the callback app. */
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { createCallbackApp } from './app.js';
import { CALLBACK_SETTINGS } from './config.js';

export const handler = createFcHttpHandler('callback', (_log, env) => createCallbackApp(env), {
  settings: CALLBACK_SETTINGS,
});
