/**
 * An example application endpoint for upcall's webhooks, as an application would write one: verify the Standard
 * Webhooks signature over the raw body (the `standardwebhooks` package), check the event against upcall's schema, and
 * process each `webhook-id` once — a repeated id (a retry, a replayed callback, a second path to the same object
 * version) gets the first answer again without being processed again. Run it with `npm run example-receiver`; the
 * dev stack and the tests start it in-process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { formatIssues } from '../shared/schema.js';
import { type WebhookEvent, webhookEventValidator } from '../shared/webhook-events.js';
import { closeServer, listen } from './listen.js';

export interface ReceiverAnswer {
  status: number;
  /** Sent as JSON (none for 204). */
  body?: unknown;
}

export interface ReceivedEvent {
  id: string;
  event: WebhookEvent;
}

export interface ExampleReceiverOptions {
  /** `whsec_<base64>`, the same as upcall's `UPCALL_WEBHOOK_SECRET`. */
  secret: string;
  /** Default 0: any free port. */
  port?: number;
  host?: string;
  /**
   * The application's answer to an event it has not settled yet. Default: 200 with a record id for
   * `upload.completed` (upcall hands it to the uploader as `app`), 204 for the rest.
   */
  answer?: (event: WebhookEvent, id: string) => ReceiverAnswer | Promise<ReceiverAnswer>;
  /** Called once per processed (2xx-answered) event. */
  onEvent?: (received: ReceivedEvent) => void;
}

export interface ExampleReceiver {
  url: string;
  port: number;
  /** Processed events, once per webhook-id, in order. */
  events: ReceivedEvent[];
  /** Every delivery with a valid signature (repeats included), with the status it was answered. */
  deliveries: Array<{ id: string; type: string; status: number }>;
  /** Requests refused for a missing or bad signature, or a body that is not an upcall event. */
  refused: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** An answer is final unless it asks for a retry (5xx, 408, 429): final answers are kept per id and repeated. */
const isFinal = (status: number) => status < 500 && status !== 408 && status !== 429;

function defaultAnswer(event: WebhookEvent, id: string): ReceiverAnswer {
  if (event.type === 'upload.completed') return { status: 200, body: { recordId: `rec_${id.slice(4, 16)}` } };
  return { status: 204 };
}

async function readBody(request: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(response: ServerResponse, answer: ReceiverAnswer): void {
  const body = answer.body === undefined || answer.status === 204 ? '' : JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    ...(body ? { 'content-type': 'application/json' } : {}),
    'content-length': String(Buffer.byteLength(body)),
  });
  response.end(body);
}

export async function startExampleReceiver(options: ExampleReceiverOptions): Promise<ExampleReceiver> {
  const webhook = new Webhook(options.secret);
  const answer = options.answer ?? defaultAnswer;
  /** Settled answers per id, and answers still being worked out (a concurrent repeat waits for the first). */
  const settled = new Map<string, ReceiverAnswer>();
  const inFlight = new Map<string, Promise<ReceiverAnswer>>();
  const events: ReceivedEvent[] = [];
  const deliveries: ExampleReceiver['deliveries'] = [];
  let refused = 0;

  async function decide(id: string, event: WebhookEvent): Promise<ReceiverAnswer> {
    const known = settled.get(id) ?? (await inFlight.get(id));
    if (known) return known;
    const pending = Promise.resolve(answer(event, id));
    inFlight.set(id, pending);
    try {
      const decided = await pending;
      if (isFinal(decided.status)) settled.set(id, decided);
      if (decided.status >= 200 && decided.status < 300) {
        const received: ReceivedEvent = { id, event };
        events.push(received);
        options.onEvent?.(received);
      }
      return decided;
    } finally {
      inFlight.delete(id);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') return reply(response, { status: 405, body: { message: 'POST only' } });
    const body = await readBody(request);
    if (!body) return reply(response, { status: 413, body: { message: 'body too large' } });
    const headers: Record<string, string> = {};
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    let payload: unknown;
    try {
      // Verify the raw bytes as received: re-serialised JSON would not match the signature.
      payload = webhook.verify(body.toString('utf8'), headers);
    } catch (error) {
      refused += 1;
      return reply(response, { status: 401, body: { message: (error as Error).message } });
    }
    const checked = webhookEventValidator.validate(payload);
    if (!checked.ok) {
      refused += 1;
      return reply(response, { status: 400, body: { message: formatIssues(checked.issues) } });
    }
    const id = headers['webhook-id'] ?? '';
    const decided = await decide(id, checked.value);
    deliveries.push({ id, type: checked.value.type, status: decided.status });
    reply(response, decided);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      reply(response, { status: 500, body: { message: (error as Error).message } });
    });
  });
  const { endpoint, port } = await listen(server, options.port ?? 0, options.host);
  return {
    events,
    deliveries,
    get refused() {
      return refused;
    },
    url: `${endpoint}/webhooks`,
    port,
    close: () => closeServer(server),
  };
}
