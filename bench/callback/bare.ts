/** The baseline: a bare node:http server that reads the body and answers `{}` — the most any server could do. */
import { createServer } from 'node:http';
import { listen } from '../../local/listen.js';
import { reply } from '../lib/child.js';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});

const { endpoint } = await listen(server);
reply({ ready: { endpoint } });
