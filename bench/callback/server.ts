/**
 * The callback function as the local stack serves it: `createCallbackApp` behind the node:http edge, configured from
 * the environment the orchestrator passes, with the role credentials in `UPCALL_BENCH_CREDENTIALS` (JSON). Logs go
 * to stdout at the default level, as on FC; the orchestrator discards them.
 */
import { createServer } from 'node:http';
import { createCallbackApp } from '../../functions/callback/app.js';
import { listen } from '../../local/listen.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger } from '../../shared/log.js';
import { reply } from '../lib/child.js';

const credentials = JSON.parse(process.env.UPCALL_BENCH_CREDENTIALS ?? 'null') as RoleCredentials | null;
if (!credentials) throw new Error('UPCALL_BENCH_CREDENTIALS is not set');
const listener = createNodeListener(createCallbackApp(process.env), {
  log: createLogger('callback'),
  credentials,
});
// Exit cleanly on the runner's SIGTERM, so `node --cpu-prof` (profiling a run by hand) writes its profile.
process.on('SIGTERM', () => process.exit(0));
const { endpoint } = await listen(createServer(listener));
reply({ ready: { endpoint } });
