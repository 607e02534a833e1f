/**
 * The floor of the callback path: a node:http server that, per request, reads the body, makes the same two outbound
 * calls the callback makes (HEAD of the object, POST of the job) over keep-alive connections to the responder with
 * plain node:http, and answers `{}` — no verification, no logic. What upcall adds is the distance to this.
 * argv[2]: the responder's (or OSS's) endpoint; argv[3]: FC's, when it is another.
 */
import { Agent, createServer, request } from 'node:http';
import { listen } from '../../local/listen.js';
import { reply } from '../lib/child.js';

const oss = new URL(process.argv[2] ?? '');
const fc = new URL(process.argv[3] ?? oss.href);
const agent = new Agent({ keepAlive: true });
let taskNumber = 0;

function call(
  upstream: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: upstream.hostname, port: upstream.port, method, path, headers, agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    try {
      await call(oss, 'HEAD', '/upcall-bench/uploads/alice/photo.jpg', {});
      const job = Buffer.from('{"job":1}');
      await call(
        fc,
        'POST',
        '/2023-03-30/functions/upcall-media-image/invocations',
        {
          'x-fc-async-task-id': `floor-${++taskNumber % 1000}`,
          'content-length': String(job.length),
        },
        job,
      );
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
      res.end('{}');
    } catch {
      res.writeHead(502).end();
    }
  });
});

// Exit cleanly on the runner's SIGTERM, so `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
const { endpoint } = await listen(server);
reply({ ready: { endpoint } });
