/**
 * Logs for a developer's terminal: one coloured line an event (time, level, service, message, then the fields),
 * through pino-pretty. `npm run dev` uses it only when stdout is a TTY; piped, the logs stay JSON lines.
 */
import type { DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export function terminalLogDestination(): DestinationStream {
  return pretty({
    colorize: true,
    singleLine: true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
    messageFormat: '[{service}] {msg}',
  });
}
