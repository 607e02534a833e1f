/**
 * The few OSS XML answers the library reads (InitiateMultipartUpload, ListParts, Error). Read with regular
 * expressions rather than an XML parser: Node has no DOMParser, and these documented shapes are flat and
 * machine-written; a parser library would be most of the bundle.
 */

const unescapeXml = (value: string) =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match ? unescapeXml(match[1] as string) : undefined;
}

export function xmlBlocks(xml: string, tag: string): string[] {
  return Array.from(xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g')), (m) => m[1] as string);
}

export interface OssErrorInfo {
  code: string;
  message: string;
  requestId?: string;
}

export function ossError(xml: string, fallbackRequestId?: string | null): OssErrorInfo {
  const requestId = xmlText(xml, 'RequestId') ?? fallbackRequestId ?? undefined;
  return {
    code: xmlText(xml, 'Code') ?? 'Unknown',
    message: xmlText(xml, 'Message') ?? (xml.trim().slice(0, 200) || 'no details'),
    ...(requestId ? { requestId } : {}),
  };
}

export const escapeXml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
