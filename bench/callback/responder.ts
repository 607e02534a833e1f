/**
 * The minimal stand-in for the callback's two outbound calls, so the load test measures upcall's own cost rather
 * than a stand-in's: HeadObject answers the configured object's etag, size, type and ticket (no signature check), and FC's
 * InvokeFunction answers 202 for a new async task id and 409 for a repeat, as FC does. On a message it answers the
 * first HeadObject and InvokeFunction it received, exactly, for the floor to repeat. argv[2]: the object as JSON.
 */
import { createServer } from 'node:http';
import { listen } from '../../local/listen.js';
import { TICKET_METADATA_HEADER } from '../../shared/callback-contract.js';
import { reply } from '../lib/child.js';
import type { FloorScript } from './floor.js';

const object = JSON.parse(process.argv[2] ?? '{}') as {
  etag: string;
  size: number;
  contentType: string;
  ticket: string;
};
const INVOKE = /^\/2023-03-30\/functions\/[^/]+\/invocations/;
const queued = new Set<string>();
let requestNumber = 0;

/** The first HeadObject and InvokeFunction received, as sent: the floor repeats them (floor.ts). */
const captured: Partial<Pick<FloorScript, 'head' | 'invoke'>> = {};

const server = createServer((req, res) => {
  const requestId = `bench-${++requestNumber}`;
  const which = req.method === 'HEAD' ? 'head' : 'invoke';
  const chunks: Buffer[] = [];
  if (captured[which]) req.resume();
  else req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    captured[which] ??= {
      method: req.method ?? '',
      path: req.url ?? '',
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('base64'),
    };
    if (req.method === 'HEAD') {
      res.writeHead(200, {
        etag: `"${object.etag}"`,
        'content-length': String(object.size),
        'content-type': object.contentType,
        [TICKET_METADATA_HEADER]: object.ticket,
        'x-oss-request-id': requestId,
      });
      res.end();
      return;
    }
    if (req.method === 'POST' && INVOKE.test(req.url ?? '')) {
      const taskId = String(req.headers['x-fc-async-task-id'] ?? requestId);
      if (queued.has(taskId)) {
        const body = JSON.stringify({
          Code: 'StatefulAsyncInvocationAlreadyExists',
          Message: `async task '${taskId}' already exists`,
          RequestId: requestId,
        });
        res.writeHead(409, { 'content-type': 'application/json', 'x-fc-request-id': requestId });
        res.end(body);
        return;
      }
      queued.add(taskId);
      res.writeHead(202, { 'x-fc-request-id': requestId, 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ Code: 'NotFound', Message: `${req.method} ${req.url}` }));
  });
});

process.on('message', () => reply({ result: captured }));
const { endpoint } = await listen(server);
reply({ ready: { endpoint } });
