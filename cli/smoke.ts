/**
 * `npm run smoke -- --token-url URL --jwt JWT`: after a deploy, an image and a clip through the deployed pipeline
 * (see `--help`). The exit code says which step failed.
 */
import { runAsProcess } from './common.js';
import { runSmoke } from './smoke-command.js';

await runAsProcess(runSmoke);
