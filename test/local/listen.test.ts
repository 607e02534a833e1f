/** Start-up of a stand-in on a port another process holds: the error names the setting to change. */
import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { closeServer, explainPortInUse, listen } from '../../local/listen.js';

const holder = createServer();
afterAll(() => closeServer(holder));

describe('explainPortInUse', () => {
  it('names the setting whose port is taken, and passes other errors through', async () => {
    const { port } = await listen(holder, 0);
    const failure = await listen(createServer(), port).catch((error: unknown) => error);
    expect((failure as NodeJS.ErrnoException).code).toBe('EADDRINUSE');

    const explained = explainPortInUse(failure, { UPCALL_LOCAL_STS_PORT: 1, UPCALL_LOCAL_OSS_PORT: port });
    expect((explained as Error).message).toBe(
      `port ${port} is already in use: stop what holds it, or set UPCALL_LOCAL_OSS_PORT to another port (0: any free port)`,
    );
    expect(explainPortInUse(failure, { UPCALL_LOCAL_OSS_PORT: 0 })).toBe(failure);
    const other = new Error('boom');
    expect(explainPortInUse(other, { UPCALL_LOCAL_OSS_PORT: port })).toBe(other);
  });
});
