/** OSS ETags as upcall compares them: upper-case hex without the quotes HTTP headers and events carry. */
export function normalizeEtag(value: string | undefined): string {
  return (value ?? '').replaceAll('"', '').toUpperCase();
}
