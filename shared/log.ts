/**
 * Structured JSON logs (pino). Every request's logger carries its request id. Silent under the test runner.
 * Production and pipes get one JSON object a line; a developer's terminal (the dev stack) swaps in a readable
 * destination with `useLogDestination` before anything logs.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

let destination: pino.DestinationStream | undefined;

/** Send every logger created after this call to `stream` (e.g. pino-pretty on a terminal). */
export function useLogDestination(stream: pino.DestinationStream): void {
  destination = stream;
}

export function createLogger(service: string, level = process.env.UPCALL_LOG_LEVEL): Logger {
  const resolved = level || (process.env.VITEST ? 'silent' : 'info');
  const options = { level: resolved, base: { service }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
