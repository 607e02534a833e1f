/**
 * Structured JSON logs (pino). Every request's logger carries its request id. The level is a registered setting
 * (`UPCALL_LOG_LEVEL`); the test runner sets it to `silent` in its own configuration.
 * Production and pipes get one JSON object a line; a developer's terminal (the dev stack) swaps in a readable
 * destination with `useLogDestination` before anything logs.
 */
import { pino } from 'pino';
import { loadSettings, type Settings } from './config.js';

export type Logger = pino.Logger;
export type LogLevel = Settings<'UPCALL_LOG_LEVEL'>['UPCALL_LOG_LEVEL'];

let destination: pino.DestinationStream | undefined;

/** Send every logger created after this call to `stream` (e.g. pino-pretty on a terminal). */
export function useLogDestination(stream: pino.DestinationStream): void {
  destination = stream;
}

/** `UPCALL_LOG_LEVEL` from an environment; throws `ConfigError` naming it when it is not a level. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  return loadSettings(['UPCALL_LOG_LEVEL'], env).UPCALL_LOG_LEVEL;
}

export function createLogger(service: string, level: LogLevel = logLevel()): Logger {
  const options = { level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime };
  // Written synchronously: pino's default stdout hands each line to libuv's thread pool, which costs a thread hop per
  // line (measurable per callback on a busy core), and an FC instance frozen after its answer would hold the line.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
