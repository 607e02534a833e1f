/** FC entry of the media worker (invoked asynchronously): the media app built from FC's environment. */
import { createMediaHandler } from './app.js';

export type { MediaHandlerOptions, MediaHandlerResult } from './app.js';
export { createMediaHandler } from './app.js';

export const handler = createMediaHandler(process.env);
