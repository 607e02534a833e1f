import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { headerList, sendRequest } from '../../../shared/http/outbound.js';

describe('headerList', () => {
  const origin = new URL('http://127.0.0.1:9000');

  it("lists the caller's headers in order and adds the origin's Host when none is named", () => {
    expect(headerList({ origin, headers: { 'x-a': '1', authorization: 'sig' } })).toEqual([
      'x-a',
      '1',
      'authorization',
      'sig',
      'host',
      '127.0.0.1:9000',
    ]);
  });

  it("keeps the caller's Host (a virtual-hosted bucket) and states the body's own length", () => {
    const list = headerList({
      origin,
      headers: { Host: 'bucket.oss.example', 'Content-Length': '999' },
      body: Buffer.from('four'),
    });
    expect(list).toEqual(['Host', 'bucket.oss.example', 'content-length', '4']);
  });
});

describe('sendRequest', () => {
  it('sends the headers, the Host and the body length node:http would have sent', async () => {
    const seen: Array<{ method?: string; headers: IncomingHttpHeaders; body: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const posted = await sendRequest({
        origin,
        method: 'POST',
        path: '/a?b=1',
        headers: { 'x-fc-async-task-id': 'task-1' },
        body: Buffer.from('{"job":1}'),
        timeoutMs: 2000,
      });
      const head = await sendRequest({ origin, method: 'HEAD', path: '/a', headers: {}, timeoutMs: 2000 });
      expect([posted.status, posted.body.toString()]).toEqual([200, 'ok']);
      expect(head.status).toBe(200);
      expect(seen[0]?.headers).toMatchObject({
        host: origin.host,
        'content-length': '9',
        'x-fc-async-task-id': 'task-1',
        connection: 'keep-alive',
      });
      expect(seen[0]?.body).toBe('{"job":1}');
      expect(seen[1]?.method).toBe('HEAD');
      expect(seen[1]?.headers.host).toBe(origin.host);
      expect(seen[1]?.headers['content-length']).toBeUndefined();
    } finally {
      server.close();
    }
  });
});
