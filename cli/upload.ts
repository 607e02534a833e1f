/**
 * `npm run upload -- <file> [--user NAME]`: upload a file as an app would and print the callback's answer and the
 * media outputs (see `--help`). The exit code says what failed.
 */
import { runAsProcess } from './common.js';
import { runUpload } from './upload-command.js';

await runAsProcess(runUpload);
