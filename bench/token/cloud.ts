/**
 * The local cloud in its own process for the token load test: STS with its AssumeRole quota (argv[4] per second,
 * STS's 100 by default), OSS and the roles; answers the token function's own role credentials. On a message it
 * answers the STS's served/refused counts (`/_local/stats`).
 * argv[2]: the data directory; argv[3]: the bucket; argv[4]: the AssumeRole quota per second.
 */
import { startLocalCloud } from '../../local/cloud.js';
import { reply } from '../lib/child.js';
import { serveCloudRole } from '../lib/cloud-child.js';

const [dataDir, bucket, perSecond] = process.argv.slice(2) as [string, string, string];

const cloud = await startLocalCloud({
  dataDir,
  buckets: [bucket],
  stsAssumeRolePerSecond: Number(perSecond),
});
const credentials = serveCloudRole(cloud, cloud.info.roles.token, 'upcall-token');
process.on('message', () => {
  fetch(`${cloud.info.sts.endpoint}/_local/stats`)
    .then((answer) => answer.json())
    .then(
      (stats) => reply({ result: stats }),
      (error: unknown) => reply({ error: String(error) }),
    );
});
reply({ ready: { info: cloud.info, credentials } });
