/** FC entry of the token function. Placeholder until its issue lands: answers 501 through the shared edge. */
import { HttpError } from '../../shared/http/edge.js';
import { createFcHttpHandler } from '../../shared/http/fc.js';

export const handler = createFcHttpHandler('token', () => async () => {
  throw new HttpError(501, 'NotImplemented', 'the token function is not built yet');
});
