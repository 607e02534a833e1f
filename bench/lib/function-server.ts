/**
 * An HTTP function as the local stack serves it: its app behind the node:http edge, configured from the environment
 * the orchestrator passes, with the role credentials in `UPCALL_BENCH_CREDENTIALS` (JSON). Logs go to stdout at the
 * default level, as on FC; the orchestrator discards them.
 * argv[2]: `callback` or `token`.
 */
import { createServer } from 'node:http';
import { createCallbackApp } from '../../functions/callback/app.js';
import { createTokenApp } from '../../functions/token/app.js';
import { listen } from '../../local/listen.js';
import type { RoleCredentials } from '../../shared/http/edge.js';
import { createNodeListener } from '../../shared/http/node.js';
import { createLogger } from '../../shared/log.js';
import { reply } from './child.js';

const APPS = { callback: createCallbackApp, token: createTokenApp };
const name = process.argv[2] as keyof typeof APPS;
if (!Object.hasOwn(APPS, name)) throw new Error(`no function ${name} (callback or token)`);
const credentials = JSON.parse(process.env.UPCALL_BENCH_CREDENTIALS ?? 'null') as RoleCredentials | null;
if (!credentials) throw new Error('UPCALL_BENCH_CREDENTIALS is not set');
const listener = createNodeListener(APPS[name](process.env), { log: createLogger(name), credentials });
// Exit cleanly on the runner's SIGTERM, so `node --cpu-prof` (profiling a run by hand) writes its profile.
process.on('SIGTERM', () => process.exit(0));
const { endpoint } = await listen(createServer(listener));
reply({ ready: { endpoint } });
