/**
 * Keep a started service running until Ctrl-C or SIGTERM, then close it and exit 0 (1 if closing failed). Ctrl-C
 * reaches npm, tsx and this process alike and they relay it, so the first signal wins and later ones are ignored.
 */
export function runUntilSignal(name: string, service: { close(): Promise<void> }): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the ${name}\n`);
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name} did not stop cleanly: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Run `main`; a start-up failure is printed (no stack trace: the message names the problem) and exits 1. */
export function startMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${name} failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
