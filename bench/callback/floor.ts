/**
 * The floor of the callback path: a node:http server that, per request, reads the body, repeats the two outbound
 * calls the callback made (its HeadObject and its InvokeFunction, byte for byte: the same headers and job, captured
 * by the responder from the callback's first request) over keep-alive connections with plain node:http, and answers
 * the callback's own answer, byte for byte — no verification, no signing, no logic. What upcall adds is the distance
 * to this.
 * argv[2]: the responder's (or OSS's) endpoint; argv[3]: FC's; argv[4]: the `FloorScript` as JSON.
 */
import { Agent, createServer, request } from 'node:http';
import { listen } from '../../local/listen.js';
import { reply } from '../lib/child.js';

/** One request as the callback sent it: node's raw header list (name, value, …) and the body, base64. */
export interface CapturedRequest {
  method: string;
  path: string;
  rawHeaders: string[];
  body: string;
}

/** What the floor repeats: the callback's two outbound calls and its answer to OSS. */
export interface FloorScript {
  head: CapturedRequest;
  invoke: CapturedRequest;
  answer: { status: number; headers: Record<string, string>; body: string };
}

const oss = new URL(process.argv[2] ?? '');
const fc = new URL(process.argv[3] ?? oss.href);
const script = JSON.parse(process.argv[4] ?? '{}') as FloorScript;
const agent = new Agent({ keepAlive: true });

/** The captured call aimed at `upstream`: its Host names where it goes now (another stand-in may serve it). */
function aimed(captured: CapturedRequest, upstream: URL) {
  const headers = [...captured.rawHeaders];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === 'host') headers[i + 1] = upstream.host;
  }
  const body = Buffer.from(captured.body, 'base64');
  return {
    host: upstream.hostname,
    port: upstream.port,
    method: captured.method,
    path: captured.path,
    headers,
    body,
  };
}
const head = aimed(script.head, oss);
const invoke = aimed(script.invoke, fc);
const answerBody = Buffer.from(script.answer.body, 'base64');

function call({ body, ...options }: ReturnType<typeof aimed>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ ...options, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body.length > 0 ? body : undefined);
  });
}

const server = createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    try {
      await call(head);
      await call(invoke);
      res.writeHead(script.answer.status, script.answer.headers);
      res.end(answerBody);
    } catch {
      res.writeHead(502).end();
    }
  });
});

// Exit cleanly on the runner's SIGTERM, so `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
const { endpoint } = await listen(server);
reply({ ready: { endpoint } });
