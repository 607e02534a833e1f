/**
 * The local cloud for the media-job bench in its own process, kept off the measured worker's core: OSS and the media
 * function's role. Each message `{ file, key, contentType }` stores the file at `key` and answers the job the
 * callback function would dispatch for it. argv[2]: the data directory; argv[3]: the bucket.
 */
import { readFile } from 'node:fs/promises';
import { startLocalCloud } from '../../local/cloud.js';
import { createOssClient } from '../../shared/oss-client.js';
import { reply, serveRequests } from '../lib/child.js';
import { serveCloudRole } from '../lib/cloud-child.js';
import { jobFor } from '../lib/media-job.js';

export interface StoreRequest {
  file: string;
  key: string;
  contentType: string;
}

const [dataDir, bucket] = process.argv.slice(2) as [string, string];

const cloud = await startLocalCloud({ dataDir, buckets: [bucket] });
const root = createOssClient({
  endpoint: cloud.info.oss.endpoint,
  region: cloud.info.region,
  bucket,
  credentials: cloud.info.rootCredentials,
});
const credentials = serveCloudRole(cloud, cloud.info.roles.media, 'upcall-media');
const bodies = new Map<string, Buffer>();
serveRequests(async (message) => {
  const { file, key, contentType } = message as StoreRequest;
  const body = bodies.get(file) ?? (await readFile(file));
  bodies.set(file, body);
  await root.put(key, body, { mime: contentType });
  return (await jobFor(root, bucket, key, contentType)).job;
});
reply({ ready: { info: cloud.info, credentials } });
