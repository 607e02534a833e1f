/** FC entry of the callback function. Placeholder until its issue lands: answers 501 through the shared edge. */
import { HttpError } from '../../shared/http/edge.js';
import { createFcHttpHandler } from '../../shared/http/fc.js';

export const handler = createFcHttpHandler('callback', () => async () => {
  throw new HttpError(501, 'NotImplemented', 'the callback function is not built yet');
});
