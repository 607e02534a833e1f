/**
 * The full local cloud in its own process, for the callback load test against real stand-ins: OSS (V4 signatures,
 * STS tokens, RAM policies, objects on disk) and FC (ACS3 signatures, task-id de-duplication), with a media function
 * registered that only counts its events. Uploads one JPEG and answers what the callback server needs.
 * argv[2]: the data directory; argv[3]: the bucket; argv[4]: the upload ticket the photo is stored with.
 */
import sharp from 'sharp';
import { startLocalCloud } from '../../local/cloud.js';
import { TICKET_METADATA_HEADER } from '../../shared/callback-contract.js';
import { createOssClient } from '../../shared/oss-client.js';
import { reply } from '../lib/child.js';
import { serveCloudRole } from '../lib/cloud-child.js';

const [dataDir, bucket, ticket] = process.argv.slice(2) as [string, string, string];
const key = 'uploads/alice/photo.jpg';

const cloud = await startLocalCloud({ dataDir, buckets: [bucket] });
let mediaEvents = 0;
cloud.fc.register(
  'upcall-media-image',
  async () => {
    mediaEvents += 1;
  },
  { roleArn: cloud.info.roles.media },
);
const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#4080c0' } })
  .jpeg()
  .toBuffer();
const root = createOssClient({
  endpoint: cloud.info.oss.endpoint,
  region: cloud.info.region,
  bucket,
  credentials: cloud.info.rootCredentials,
});
await root.put(key, photo, { mime: 'image/jpeg', headers: { [TICKET_METADATA_HEADER]: ticket } });
const head = await root.head(key);
const headers = head.res.headers as Record<string, string>;
const credentials = serveCloudRole(cloud, cloud.info.roles.callback, 'upcall-callback');
process.on('message', () => reply({ result: { mediaEvents } }));
reply({
  ready: {
    info: cloud.info,
    credentials,
    object: {
      key,
      etag: (headers.etag ?? '').replaceAll('"', ''),
      size: photo.length,
      contentType: 'image/jpeg',
      width: 640,
      height: 480,
      ticket,
    },
  },
});
