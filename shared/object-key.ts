/**
 * The key of a new upload, the same whoever names it (the token function for its grants, the client library where a
 * credentials grant leaves the key to it): unique under the user's prefix, ending in the file name made key-safe.
 * Runs in browsers too (the client library bundles it): Web Crypto's `randomUUID`, nothing of Node.
 */
export function suggestedKey(keyPrefix: string, fileName?: string): string {
  const id = crypto.randomUUID();
  if (!fileName) return `${keyPrefix}${id}`;
  const safe = fileName
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-100);
  return `${keyPrefix}${id}/${safe || 'file'}`;
}
