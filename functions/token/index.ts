/** FC entry of the token function: the shared FC edge around the token app. */
import { createFcHttpHandler } from '../../shared/http/fc.js';
import { createTokenApp } from './app.js';

export const handler = createFcHttpHandler('token', () => createTokenApp(process.env));
