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

/**
 * A start-up failure of `listen` on a port taken by another process, retold naming the setting that chose the port
 * (`ports` maps setting names to the values used); any other error is returned as it is.
 */
export function explainPortInUse(error: unknown, ports: Record<string, number>): unknown {
  const failure = error as NodeJS.ErrnoException & { port?: number };
  if (failure?.code !== 'EADDRINUSE') return error;
  const setting = Object.entries(ports).find(([, port]) => port !== 0 && port === failure.port)?.[0];
  if (!setting) return error;
  return new Error(
    `port ${failure.port} is already in use: stop what holds it, or set ${setting} to another port (0: any free port)`,
  );
}
