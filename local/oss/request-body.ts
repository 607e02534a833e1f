/** Reading small request bodies (XML documents) whole, and draining bodies a refused request did not read. */
import type { IncomingMessage } from 'node:http';
import { invalidArgument } from './errors.js';

export async function readSmallBody(message: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of message as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw invalidArgument(`The request body is larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Let an unread body run out, so the client that is still sending it reads the error instead of a reset. */
export function drain(message: IncomingMessage): Promise<void> {
  if (message.readableEnded || message.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    message.on('end', resolve);
    message.on('error', () => resolve());
    message.on('close', () => resolve());
    message.resume();
  });
}
