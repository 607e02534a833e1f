/** XML in and out for the local OSS (fast-xml-parser), in the shape OSS writes: declaration, no attributes. */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

const builder = new XMLBuilder({ format: false, suppressEmptyNode: false });
// Values stay strings: an ETag or a key of digits must not turn into a number.
const parser = new XMLParser({ parseTagValue: false, trimValues: true, ignoreDeclaration: true });

export function buildXml(document: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(document)}`;
}

/** Parse an XML request body; `undefined` when it is not well-formed. */
export function parseXml(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = parser.parse(text, true);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A repeated element parses to an array, a single one to a value: always a list. */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}
