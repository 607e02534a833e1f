/**
 * `npm run upload -- <file> [--user NAME]`: upload a file as an app would and print the callback's answer and the
 * media outputs (see `--help`). The exit code says what failed.
 */
import { runUpload } from './upload-command.js';

const code = await runUpload(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
// Explicitly: Node's global agent keeps idle sockets open for a while, which would hold the process after the work
// is done.
process.exit(code);
