/**
 * FC's OSS trigger for the local cloud: each object-created event of the local OSS that matches the trigger's
 * bucket, key prefix/suffix and event list becomes FC's OSS event JSON and is invoked asynchronously, as FC does —
 * after `deliveryDelayMs`, so that, as on real OSS, the upload's callback normally comes first.
 */
import { createHash } from 'node:crypto';
import { createLogger } from '../../shared/log.js';
import type { LocalOss, ObjectCreatedEvent } from '../oss/server.js';
import type { LocalFc } from './server.js';

export interface OssTriggerOptions {
  functionName: string;
  bucket: string;
  /** Key prefix filter (`filter.key.prefix`); '' matches every key. */
  prefix: string;
  /** Key suffix filter (`filter.key.suffix`). */
  suffix?: string;
  /** FC trigger events, e.g. `oss:ObjectCreated:PutObject`; `*` is a wildcard (`oss:ObjectCreated:*`). */
  events: string[];
  /**
   * How long after the upload the event reaches FC. Real OSS delivers event notifications asynchronously, after the
   * upload's own (synchronous) callback; 0 delivers at once, which lets tests run the trigger-first race.
   */
  deliveryDelayMs?: number;
}

/** The event FC hands a function for an OSS trigger (one record per invocation). */
export interface OssTriggerEvent {
  events: Array<{
    eventName: string;
    eventSource: 'acs:oss';
    eventTime: string;
    eventVersion: '1.0';
    oss: {
      bucket: { arn: string; name: string; ownerIdentity: string };
      object: { deltaSize: number; eTag: string; key: string; size: number };
      ossSchemaVersion: '1.0';
      ruleId: string;
    };
    region: string;
    requestParameters: { sourceIPAddress: string };
    responseElements: { requestId: string };
    userIdentity: { principalId: string };
  }>;
}

const wildcard = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

export function matchesOssTrigger(options: OssTriggerOptions, event: ObjectCreatedEvent): boolean {
  return (
    event.bucket === options.bucket &&
    event.key.startsWith(options.prefix) &&
    event.key.endsWith(options.suffix ?? '') &&
    options.events.some((pattern) => wildcard(pattern).test(`oss:${event.eventName}`))
  );
}

/** FC's OSS event for one object-created event. */
export function ossTriggerEvent(
  event: ObjectCreatedEvent,
  context: { region: string; accountId: string; ruleId: string },
): OssTriggerEvent {
  const time = new Date(event.eventTime);
  return {
    events: [
      {
        eventName: event.eventName,
        eventSource: 'acs:oss',
        eventTime: Number.isNaN(time.getTime()) ? event.eventTime : time.toISOString(),
        eventVersion: '1.0',
        oss: {
          bucket: {
            arn: `acs:oss:${context.region}:${context.accountId}:${event.bucket}`,
            name: event.bucket,
            ownerIdentity: context.accountId,
          },
          // The stand-in does not track the size an overwritten object had, so deltaSize is the new size.
          object: { deltaSize: event.size, eTag: event.etag, key: event.key, size: event.size },
          ossSchemaVersion: '1.0',
          ruleId: context.ruleId,
        },
        region: context.region,
        requestParameters: { sourceIPAddress: event.sourceIp },
        responseElements: { requestId: event.requestId },
        userIdentity: { principalId: context.accountId },
      },
    ],
  };
}

/**
 * Wire an OSS trigger: matching events are queued on `fc` as async invocations of `functionName`. Returns a function
 * that disconnects the trigger.
 */
export function connectOssTrigger(
  oss: Pick<LocalOss, 'onObjectCreated'>,
  fc: Pick<LocalFc, 'invokeAsync' | 'region' | 'accountId'>,
  options: OssTriggerOptions,
): () => void {
  if (options.events.length === 0 || !options.events.every((e) => /^oss:[A-Za-z]+:[A-Za-z*]+$/.test(e))) {
    throw new Error(
      `OSS trigger events must look like oss:ObjectCreated:PutObject (got ${options.events.join(', ')})`,
    );
  }
  const log = createLogger('local-fc-oss-trigger');
  const ruleId = createHash('sha1')
    .update(
      JSON.stringify([
        options.functionName,
        options.bucket,
        options.prefix,
        options.suffix ?? '',
        options.events,
      ]),
    )
    .digest('hex');
  return oss.onObjectCreated((event) => {
    if (!matchesOssTrigger(options, event)) return;
    const payload = ossTriggerEvent(event, { region: fc.region, accountId: fc.accountId, ruleId });
    try {
      const { requestId } = fc.invokeAsync(options.functionName, Buffer.from(JSON.stringify(payload)), {
        delaySeconds: (options.deliveryDelayMs ?? 0) / 1000,
      });
      log.info({ requestId, function: options.functionName, key: event.key }, 'OSS trigger invoked');
    } catch (error) {
      // FC would keep the event and retry delivery; here the failure is loud so the test or developer sees it.
      log.error(
        { err: error, function: options.functionName, key: event.key },
        'OSS trigger could not invoke',
      );
    }
  });
}
