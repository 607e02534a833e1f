import { expect } from 'vitest';
import { ConfigError } from '../../shared/config.js';

/** The ConfigError `load` throws (the test fails if it throws anything else); undefined when it loads. */
export function configError(load: () => unknown): ConfigError | undefined {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  return undefined;
}
