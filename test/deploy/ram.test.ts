/**
 * deploy/ram/: the roles and policies README "Deploy" has the user create. Rendered for a deployment the way
 * `npm run ram-policies` renders them, parsed with RAM's policy grammar (local/ram-policy.ts) and evaluated: each role
 * may do what its function calls and nothing next to it, and the names and prefixes agree with s.yaml.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRamPolicy, policyAllows, type RamPolicy } from '../../local/ram-policy.js';
import {
  RAM_TEMPLATE_DIR,
  type RamValues,
  ramTemplateFiles,
  ramValuesFromEnv,
  renderTemplate,
} from '../../scripts/ram-policies.js';
import { ConfigError } from '../../shared/config.js';
import {
  DEPLOY_ENV,
  MEDIA_RESOURCES,
  previewSYaml,
  RESOURCE_PACKAGES,
  type RenderedSYaml,
  TEST_ACCOUNT_ID,
} from '../helpers/serverless-devs.js';

const ENV = { ...DEPLOY_ENV, DEPLOY_ACCOUNT_ID: TEST_ACCOUNT_ID };

interface TrustStatement {
  Effect: string;
  Action: string | string[];
  Principal: { Service?: string[]; RAM?: string[] };
}

describe('deploy/ram', () => {
  let values: RamValues;
  let sYaml: RenderedSYaml;
  const rendered = (file: string) =>
    renderTemplate(readFileSync(join(RAM_TEMPLATE_DIR, file), 'utf8'), values);
  const policy = (file: string): RamPolicy => {
    const parsed = parseRamPolicy(rendered(file));
    if (!parsed.ok) throw new Error(`${file}: ${parsed.message}`);
    return parsed.policy;
  };
  const trust = (file: string) =>
    (JSON.parse(rendered(file)) as { Version: string; Statement: TrustStatement[] }).Statement;
  const object = (key: string) => `acs:oss:*:*:${values.BUCKET}/${key}`;
  const fcFunction = (name: string) => `acs:fc:${values.REGION}:${values.ACCOUNT_ID}:functions/${name}`;
  const props = (resource: string) => {
    const found = sYaml.resources[resource]?.props;
    if (!found) throw new Error(`s.yaml has no ${resource}`);
    return found;
  };

  /** A role that may queue work on exactly the two media functions s.yaml deploys (each also under a qualifier). */
  const expectInvokesExactlyMedia = (granted: RamPolicy, who: string) => {
    for (const resource of Object.keys(RESOURCE_PACKAGES)) {
      const arn = fcFunction(props(resource).functionName);
      const media = (MEDIA_RESOURCES as readonly string[]).includes(resource);
      expect(policyAllows(granted, 'fc:InvokeFunction', arn), `${who} → ${resource}`).toBe(media);
      expect(policyAllows(granted, 'fc:InvokeFunction', `${arn}/LATEST`), `${who} → ${resource}`).toBe(media);
    }
    expect(policyAllows(granted, 'fc:InvokeFunction', fcFunction('upcall-media-other'))).toBe(false);
  };

  beforeAll(async () => {
    values = ramValuesFromEnv(ENV);
    const preview = await previewSYaml(DEPLOY_ENV);
    if (!preview.ok) throw new Error(preview.output);
    sYaml = preview.rendered;
  });

  it('holds JSON documents of RAM policy grammar (Version "1") with known placeholders only', () => {
    const files = ramTemplateFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        'fc-function.trust.json',
        'token-fn.policy.json',
        'callback-fn.policy.json',
        'media-fn.policy.json',
        'uploader.trust.json',
        'uploader.policy.json',
        'oss-trigger.trust.json',
        'oss-trigger.policy.json',
        'deployer.policy.json',
      ]),
    );
    for (const file of files) {
      const text = rendered(file);
      expect(text, file).not.toContain('${');
      expect((JSON.parse(text) as { Version: unknown }).Version, file).toBe('1');
      if (file.endsWith('.policy.json')) expect(parseRamPolicy(text).ok, file).toBe(true);
    }
    expect(() => renderTemplate('{"Resource": "${ACCOUNT}"}', values)).toThrow(/ACCOUNT/);
  });

  it('lets FC assume the functions’ roles, OSS the trigger’s, and only the token function’s role the uploader', () => {
    const assumedBy = (file: string) => {
      const statements = trust(file);
      expect(statements, file).toHaveLength(1);
      expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole' });
      return statements[0]!.Principal;
    };
    expect(assumedBy('fc-function.trust.json')).toEqual({ Service: ['fc.aliyuncs.com'] });
    expect(assumedBy('oss-trigger.trust.json')).toEqual({ Service: ['oss.aliyuncs.com'] });
    expect(assumedBy('uploader.trust.json')).toEqual({ RAM: [props('token').role] });
  });

  it('gives the uploader role upload actions on the uploads prefix and reads of their outputs only (the session policy narrows it per user)', () => {
    const uploader = policy('uploader.policy.json');
    for (const action of ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts']) {
      expect(policyAllows(uploader, action, object(`${values.UPLOADS_PREFIX}u1/photo.jpg`)), action).toBe(
        true,
      );
      expect(policyAllows(uploader, action, object(`${values.DERIVED_PREFIX}x/thumb.webp`)), action).toBe(
        false,
      );
      expect(policyAllows(uploader, action, object('index.html')), action).toBe(false);
    }
    expect(policyAllows(uploader, 'oss:GetObject', object(`${values.UPLOADS_PREFIX}u1/photo.jpg`))).toBe(
      false,
    );
    // Reading back is limited to what media derived from uploads (each token narrows it to the user's own).
    const derived = object(`${values.DERIVED_PREFIX}${values.UPLOADS_PREFIX}u1/photo.jpg/ABC/manifest.json`);
    expect(policyAllows(uploader, 'oss:GetObject', derived)).toBe(true);
    expect(policyAllows(uploader, 'oss:PutObject', derived)).toBe(false);
    expect(policyAllows(uploader, 'oss:GetObject', object(`${values.DERIVED_PREFIX}other/x.webp`))).toBe(
      false,
    );
    expect(policyAllows(uploader, 'oss:DeleteObject', object(`${values.UPLOADS_PREFIX}u1/photo.jpg`))).toBe(
      false,
    );
  });

  it('lets the token function assume exactly the upload role s.yaml hands it, and sign uploads only', () => {
    const token = policy('token-fn.policy.json');
    const uploadRole = String(props('token').environmentVariables.UPCALL_UPLOAD_ROLE_ARN);
    expect(policyAllows(token, 'sts:AssumeRole', uploadRole)).toBe(true);
    expect(policyAllows(token, 'sts:AssumeRole', `acs:ram::${TEST_ACCOUNT_ID}:role/admin`)).toBe(false);
    // The form, presigned PUT and presigned multipart grants are signed with the function's own credentials.
    const upload = object(`${values.UPLOADS_PREFIX}u1/a.jpg`);
    for (const action of ['oss:PutObject', 'oss:AbortMultipartUpload', 'oss:ListParts']) {
      expect(policyAllows(token, action, upload), action).toBe(true);
    }
    expect(policyAllows(token, 'oss:GetObject', upload)).toBe(false);
    expect(policyAllows(token, 'oss:PutObject', object(`${values.DERIVED_PREFIX}x.webp`))).toBe(false);
    expect(policyAllows(token, 'oss:PutObject', object('elsewhere/a.jpg'))).toBe(false);
  });

  it('lets the callback head and tag uploads and queue jobs on both media functions, nothing else', () => {
    const callback = policy('callback-fn.policy.json');
    const upload = object(`${values.UPLOADS_PREFIX}u1/photo.jpg`);
    expect(policyAllows(callback, 'oss:GetObject', upload)).toBe(true); // HeadObject is authorised as GetObject
    expect(policyAllows(callback, 'oss:PutObjectTagging', upload)).toBe(true);
    expect(policyAllows(callback, 'oss:PutObjectTagging', object(`${values.DERIVED_PREFIX}x.webp`))).toBe(
      false,
    );
    for (const action of ['oss:PutObject', 'oss:DeleteObject', 'oss:GetObjectTagging']) {
      expect(policyAllows(callback, action, upload), action).toBe(false);
    }
    expectInvokesExactlyMedia(callback, 'callback');
  });

  it('lets media read sources (and their tags) and outputs, write only outputs, queue on both media functions, report failures', () => {
    const media = policy('media-fn.policy.json');
    const source = object(`${values.UPLOADS_PREFIX}u1/clip.mp4`);
    const output = object(`${values.DERIVED_PREFIX}u1/clip.mp4/ABC/720p.mp4`);
    expect(policyAllows(media, 'oss:GetObject', source)).toBe(true);
    expect(policyAllows(media, 'oss:GetObject', output)).toBe(true); // manifests and leases
    expect(policyAllows(media, 'oss:GetObjectTagging', source)).toBe(true); // skips refused uploads
    expect(policyAllows(media, 'oss:GetObjectTagging', output)).toBe(false);
    expect(policyAllows(media, 'oss:PutObject', output)).toBe(true); // includes multipart parts
    expect(policyAllows(media, 'oss:PutObject', source)).toBe(false); // never touches what users uploaded
    expect(policyAllows(media, 'oss:DeleteObject', output)).toBe(false); // leases are never deleted
    for (const resource of MEDIA_RESOURCES) expectInvokesExactlyMedia(media, resource);
    // s.yaml's onFailure destination `acs:mns:<region>::/queues/<q>/messages` is this RAM resource (both functions').
    const destinations = MEDIA_RESOURCES.map(
      (resource) =>
        (props(resource).asyncInvokeConfig as { destinationConfig: { onFailure: { destination: string } } })
          .destinationConfig.onFailure.destination,
    );
    expect(new Set(destinations).size).toBe(1);
    const destination = destinations[0] ?? '';
    const queue = /^acs:mns:([^:]+)::(\/queues\/[^/]+\/messages)$/.exec(destination);
    expect(queue).not.toBeNull();
    const queueResource = `acs:mns:${queue![1]}:${values.ACCOUNT_ID}:${queue![2]}`;
    expect(policyAllows(media, 'mns:SendMessage', queueResource)).toBe(true);
    expect(
      policyAllows(media, 'mns:SendMessage', queueResource.replace('upcall-media-failures', 'other')),
    ).toBe(false);
  });

  it('lets each function read exactly its own secrets from KMS, under the names s.yaml hands it', () => {
    const secret = (name: string) => `acs:kms:${values.REGION}:${values.ACCOUNT_ID}:secret/${name}`;
    const own: Record<string, string[]> = {
      token: ['upcall-ticket-keys', 'upcall-jwt-secret'],
      callback: ['upcall-ticket-keys', 'upcall-webhook-secret'],
      mediaImage: ['upcall-ticket-keys', 'upcall-webhook-secret'],
      mediaVideo: ['upcall-ticket-keys', 'upcall-webhook-secret'],
    };
    const all = ['upcall-ticket-keys', 'upcall-jwt-secret', 'upcall-webhook-secret', 'someone-elses'];
    for (const [resource, names] of Object.entries(own)) {
      const granted = policy(`${RESOURCE_PACKAGES[resource]}-fn.policy.json`);
      for (const name of all) {
        expect(policyAllows(granted, 'kms:GetSecretValue', secret(name)), `${resource} ${name}`).toBe(
          names.includes(name),
        );
      }
      expect(props(resource).environmentVariables.UPCALL_TICKET_KEYS_SECRET_NAME).toBe('upcall-ticket-keys');
    }
    expect(props('token').environmentVariables.UPCALL_JWT_SECRET_NAME).toBe('upcall-jwt-secret');
  });

  it('lets the OSS trigger invoke the image function only, as the role s.yaml names', () => {
    const ossTrigger = policy('oss-trigger.policy.json');
    for (const [resource, invoked] of Object.entries({ mediaImage: true, mediaVideo: false, token: false })) {
      const arn = fcFunction(props(resource).functionName);
      expect(policyAllows(ossTrigger, 'fc:InvokeFunction', arn), resource).toBe(invoked);
    }
    const trigger = props('mediaImage').triggers?.find((t) => t.triggerType === 'oss');
    expect(trigger?.invocationRole).toBe(`acs:ram::${TEST_ACCOUNT_ID}:role/aliyunosseventnotificationrole`);
  });

  it('lets the deploying user manage exactly the functions, triggers and roles s.yaml names, and their log store', () => {
    const deployer = policy('deployer.policy.json');
    const functions = Object.values(sYaml.resources).map((resource) => resource.props);
    // Every role s.yaml hands FC: the functions' execution roles and the OSS trigger's invocation role.
    const passed = new Set<string>();
    for (const fn of functions) {
      const arn = fcFunction(fn.functionName);
      for (const verb of ['Get', 'Create', 'Update', 'Delete']) {
        expect(policyAllows(deployer, `fc:${verb}Function`, arn), `${verb} ${fn.functionName}`).toBe(true);
        expect(policyAllows(deployer, `fc:${verb}Function`, fcFunction(`other-${fn.functionName}`))).toBe(
          false,
        );
      }
      expect(policyAllows(deployer, 'fc:InvokeFunction', arn), 'deploying is not invoking').toBe(false);
      for (const trigger of fn.triggers ?? []) {
        const triggerArn = `${arn}/triggers/${String(trigger.triggerName)}`;
        for (const verb of ['Get', 'Create', 'Update', 'Delete']) {
          expect(policyAllows(deployer, `fc:${verb}Trigger`, triggerArn), triggerArn).toBe(true);
        }
        if (trigger.invocationRole) passed.add(String(trigger.invocationRole));
        if (trigger.triggerType === 'oss') {
          // sourceArn acs:oss:<region>:<account>:<bucket>: FC registers the bucket's event notification.
          const bucket = String(trigger.sourceArn).split(':').at(-1);
          expect(bucket).toBe(values.BUCKET);
          const notification = 'oss:PutBucketEventNotification';
          expect(policyAllows(deployer, notification, `acs:oss:*:*:${bucket}`)).toBe(true);
          expect(policyAllows(deployer, notification, 'acs:oss:*:*:someone-elses-bucket')).toBe(false);
          expect(policyAllows(deployer, 'oss:PutObject', `acs:oss:*:*:${bucket}/x`)).toBe(false);
        }
      }
      if (fn.asyncInvokeConfig) {
        // FC documents PutFunctionAsyncInvokeConfig without resource-level authorisation: Resource "*".
        expect(policyAllows(deployer, 'fc:PutFunctionAsyncInvokeConfig', '*')).toBe(true);
      }
      // A layer would need fc:GetLayerVersion here; the media package carries its own ffmpeg instead.
      expect(fn.layers, `${fn.functionName} layers`).toBeUndefined();
      passed.add(fn.role);
      // logConfig auto: fc3 creates (once) the project <account>-<region>-logproject and a log store per function.
      expect(fn.logConfig).toBe('auto');
    }
    const passRoleResources = deployer.statements
      .filter((s) => s.actions.includes('ram:PassRole'))
      .flatMap((s) => s.resources);
    expect(new Set(passRoleResources)).toEqual(passed);
    expect(policyAllows(deployer, 'ram:PassRole', `acs:ram::${TEST_ACCOUNT_ID}:role/admin`)).toBe(false);
    expect(policyAllows(deployer, 'ram:CreateRole', '*')).toBe(false);

    const project = `acs:log:${values.REGION}:${values.ACCOUNT_ID}:project/${values.ACCOUNT_ID}-${values.REGION}-logproject`;
    expect(policyAllows(deployer, 'log:CreateProject', project)).toBe(true);
    expect(
      policyAllows(deployer, 'log:CreateLogStore', `${project}/logstore/fc-v3-upcall-token-logstore`),
    ).toBe(true);
    expect(policyAllows(deployer, 'log:CreateIndex', `${project}/logstore/fc-v3-upcall-token-logstore`)).toBe(
      true,
    );
    expect(policyAllows(deployer, 'log:DeleteProject', project)).toBe(false);
    expect(policyAllows(deployer, 'log:CreateProject', `${project}-other`)).toBe(false);
    expect(policyAllows(deployer, 'log:GetLogStoreLogs', `${project}/logstore/x`)).toBe(false);
  });

  it("names each function's role after its policy file, and renders the prefixes s.yaml deploys", () => {
    for (const [resource, role] of Object.entries(RESOURCE_PACKAGES)) {
      expect(props(resource).role).toBe(`acs:ram::${TEST_ACCOUNT_ID}:role/upcall-${role}-fn`);
      expect(ramTemplateFiles()).toContain(`${role}-fn.policy.json`);
    }
    expect(values.UPLOADS_PREFIX).toBe(sYaml.vars.uploadsPrefix);
    expect(values.DERIVED_PREFIX).toBe(sYaml.vars.derivedPrefix);
    expect(values.REGION).toBe(sYaml.vars.region);
    expect(values.BUCKET).toBe(sYaml.vars.bucket);
  });

  it('refuses to render without an account id or with an invalid bucket, naming them', () => {
    const attempt = () => ramValuesFromEnv({ ...DEPLOY_ENV, UPCALL_BUCKET: 'Not_A_Bucket' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/DEPLOY_ACCOUNT_ID.*UPCALL_BUCKET/);
  });
});
