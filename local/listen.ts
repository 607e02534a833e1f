/** Start and stop a stand-in's HTTP server (loopback by default; port 0 picks a free port). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listen(
  server: Server,
  port = 0,
  host = '127.0.0.1',
): Promise<{ endpoint: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return { endpoint: `http://${host}:${bound}`, port: bound };
}

/** Stop accepting connections and drop idle keep-alive ones (SDK clients keep them open). */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
