/** Structured JSON logs (pino). Every request's logger carries its request id. Silent under the test runner. */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(service: string, level = process.env.UPCALL_LOG_LEVEL): Logger {
  const resolved = level || (process.env.VITEST ? 'silent' : 'info');
  return pino({ level: resolved, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
