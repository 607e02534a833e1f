/** ObjectCreated events (what an OSS trigger delivers) and the listeners the local cloud wires to them. */
export interface ObjectCreatedEvent {
  eventName: 'ObjectCreated:PutObject' | 'ObjectCreated:PostObject' | 'ObjectCreated:CompleteMultipartUpload';
  bucket: string;
  key: string;
  /** Upper-case hex, no quotes (`<hex>-<parts>` for multipart). */
  etag: string;
  size: number;
  /** ISO time. */
  eventTime: string;
  requestId: string;
  sourceIp: string;
}

export type ObjectCreatedListener = (event: ObjectCreatedEvent) => void;

export class ObjectCreatedHub {
  private readonly listeners = new Set<ObjectCreatedListener>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  subscribe(listener: ObjectCreatedListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** A listener that throws is reported, never allowed to fail the upload that is already stored. */
  emit(event: ObjectCreatedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
