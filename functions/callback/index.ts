/** FC entry of the callback function: the shared FC edge around the callback app. */
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { createCallbackApp } from './app.js';

export const handler = createFcHttpHandler('callback', () => createCallbackApp(process.env));
