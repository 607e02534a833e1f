import { TRIGGER_EVENTS } from '../../functions/media/trigger.js';
import type { OssTriggerOptions } from '../../local/fc/oss-trigger.js';

/**
 * The media function's OSS trigger as s.yaml declares it: the three upload completions under `uploads/` (not
 * `oss:ObjectCreated:*`, which also fires for every multipart step and for copies).
 */
export function mediaTrigger(functionName: string, bucket: string): OssTriggerOptions {
  return {
    functionName,
    bucket,
    prefix: 'uploads/',
    events: TRIGGER_EVENTS,
  };
}
