// The upcall demo: what a web app does, in the browser, with no build step. Sign in (here: the dev stack's
// /dev-token), ask the token function for a signed PostObject form, upload straight to OSS with progress, read the
// callback's answer, then wait for the media manifest and show the outputs — read with the token's own credentials,
// which may read what was derived from this user's uploads and nothing else.

const { OSS } = globalThis;
const $ = (id) => document.getElementById(id);
const STEPS = ['token', 'upload', 'callback', 'processing', 'ready'];
const MANIFEST_TIMEOUT_MS = 180_000;

const config = await fetchJson('config.json');
$('upload').addEventListener('submit', (event) => {
  event.preventDefault();
  void run();
});
document.body.dataset.state = 'idle';

async function run() {
  const file = $('file').files[0];
  const user = $('user').value.trim();
  if (!file || !user) return;
  resetView();
  $('start').disabled = true;
  document.body.dataset.state = 'busy';
  try {
    step('token');
    const { jwt } = await fetchJson(`dev-token?user=${encodeURIComponent(user)}`);
    const grant = await requestGrant(jwt, {
      grant: 'form',
      contentType: file.type,
      size: file.size,
      fileName: file.name,
    });
    step('upload');
    const answer = await postObject(grant.form, file, showProgress);
    step('callback');
    describeUpload(answer);
    const [job] = answer.jobs;
    if (!job) {
      finish('No media job for this type: the upload is stored, nothing to derive.');
      return;
    }
    step('processing');
    // The form carries no credentials (it costs no STS call); reading the outputs needs them.
    const reader = outputReader(await requestGrant(jwt, { grant: 'credentials' }));
    const manifest = await waitForManifest(reader, job.manifestKey);
    if (manifest.status !== 'succeeded') {
      throw new Error(`Processing failed: ${manifest.error?.code}: ${manifest.error?.message}`);
    }
    await showOutputs(reader, manifest);
    finish();
  } catch (error) {
    showError(error instanceof Error ? error.message : String(error));
  } finally {
    $('start').disabled = false;
  }
}

/** POST the token function's JSON API: a PostObject form for the file, or credentials to read the outputs. */
async function requestGrant(jwt, wanted) {
  if (wanted.grant === 'form' && !wanted.contentType) {
    throw new Error('The browser cannot tell this file’s type: pick an image or a video.');
  }
  const response = await fetch(config.tokenUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify(wanted),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`Token refused (${response.status} ${body.error?.code}): ${body.error?.message}`);
  }
  return body;
}

/** The form's fields in order, then the file; XMLHttpRequest because fetch reports no upload progress. */
function postObject(form, file, onProgress) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
    data.append('file', file);
    const xhr = new XMLHttpRequest();
    let progressEvents = 0;
    xhr.open('POST', form.url);
    xhr.upload.addEventListener('progress', (event) => {
      // Counted on the page for the end-to-end test (and anyone curious in devtools).
      document.body.dataset.uploadProgressEvents = String(++progressEvents);
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 200) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText));
        return;
      }
      const { code, message } = ossError(xhr.responseText);
      reject(
        new Error(
          xhr.status === 203
            ? `OSS stored the file, but the callback failed (${code}): ${message}`
            : `OSS refused the upload (${xhr.status} ${code}): ${message}`,
        ),
      );
    });
    xhr.addEventListener('error', () => reject(new Error('The upload did not reach OSS (network or CORS).')));
    xhr.send(data);
  });
}

/** Presigned reads with the grant's credentials (ali-oss's browser build signs; the page never sees a secret key). */
function outputReader(grant) {
  const { credentials } = grant;
  const client = new OSS({
    region: `oss-${grant.region}`,
    endpoint: grant.endpoint,
    bucket: grant.bucket,
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    stsToken: credentials.securityToken,
    authorizationV4: true,
    // The page is done long before the credentials expire; naming an interval keeps ali-oss from warning.
    refreshSTSTokenInterval: 3_600_000,
  });
  const expiresAt = Date.parse(credentials.expiration);
  return {
    async url(key, seconds = 900) {
      const lifetime = Math.max(1, Math.min(seconds, Math.floor((expiresAt - Date.now()) / 1000)));
      const signed = new URL(await client.signatureUrlV4('GET', lifetime, undefined, key));
      // On an IP endpoint (the local cloud) ali-oss names the bucket in the Host header, which a URL cannot carry:
      // address it path-style; V4 signs `/<bucket>/<key>` either way. (shared/oss-client.ts does the same in Node.)
      if (/^[\d.]+$|^\[/.test(signed.hostname)) signed.pathname = `/${grant.bucket}${signed.pathname}`;
      return signed.href;
    },
  };
}

/** The manifest appears when the job is over (succeeded or failed); until then OSS answers 404. */
async function waitForManifest(reader, key) {
  const deadline = Date.now() + MANIFEST_TIMEOUT_MS;
  let pause = 250;
  while (Date.now() < deadline) {
    const response = await fetch(await reader.url(key, 60), { cache: 'no-store' });
    if (response.ok) return response.json();
    if (response.status !== 404) {
      const { code, message } = ossError(await response.text());
      throw new Error(`Reading the manifest failed (${response.status} ${code}): ${message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 1.5, 1500);
  }
  throw new Error(`No manifest after ${MANIFEST_TIMEOUT_MS / 1000} s: is the media worker running?`);
}

async function showOutputs(reader, manifest) {
  const urls = new Map();
  for (const output of manifest.outputs) urls.set(output.key, await reader.url(output.key));
  const largest = (role) =>
    manifest.outputs
      .filter((o) => o.role === role)
      .sort((a, b) => b.width * b.height - a.width * a.height)[0];
  const preview = $('preview');
  if (manifest.kind === 'video') {
    const video = document.createElement('video');
    const transcode = largest('transcode');
    const poster = largest('poster');
    video.controls = true;
    video.muted = true;
    video.playsInline = true;
    video.preload = 'metadata';
    if (poster) video.poster = urls.get(poster.key);
    if (transcode) video.src = urls.get(transcode.key);
    preview.replaceChildren(video);
  } else {
    const thumbnail = largest('thumbnail');
    const image = document.createElement('img');
    image.alt = `Thumbnail of ${manifest.key}`;
    image.src = urls.get(thumbnail.key);
    preview.replaceChildren(image);
  }
  $('outputs').replaceChildren(
    ...manifest.outputs.map((output) => {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = urls.get(output.key);
      link.target = '_blank';
      link.textContent = output.key.split('/').pop();
      const extra = output.durationMs === undefined ? '' : `, ${(output.durationMs / 1000).toFixed(1)} s`;
      item.append(link, ` — ${output.role}, ${output.width}×${output.height}, ${kib(output.bytes)}${extra}`);
      return item;
    }),
  );
  addDetail('Processed by', `${manifest.source} path, attempt ${manifest.attempt}`);
  addDetail('Took', `${manifest.timings.finishedAt - manifest.timings.startedAt} ms`);
  $('result').hidden = false;
}

function describeUpload(answer) {
  const { object } = answer;
  $('details').replaceChildren();
  addDetail('User', answer.userId);
  addDetail('Key', object.key);
  addDetail('ETag', object.etag);
  addDetail('Size', `${kib(object.size)} (${object.contentType})`);
  if (object.claimedImage) {
    const { width, height, format } = object.claimedImage;
    addDetail('Image (as claimed)', `${width}×${height} ${format}`);
  }
  $('result').hidden = false;
}

function addDetail(term, value) {
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = value;
  $('details').append(dt, dd);
}

function ossError(xml) {
  const doc = new DOMParser().parseFromString(xml || '<Error/>', 'application/xml');
  const text = (tag) => doc.getElementsByTagName(tag)[0]?.textContent ?? '';
  return { code: text('Code') || 'Unknown', message: text('Message') || xml || 'no details' };
}

async function fetchJson(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(`${url}: ${body.error?.code}: ${body.error?.message}`);
  return body;
}

const kib = (bytes) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`);

function step(name) {
  const reached = STEPS.indexOf(name);
  for (const item of $('steps').children) {
    const index = STEPS.indexOf(item.dataset.step);
    item.className = index < reached ? 'done' : index === reached ? 'active' : '';
  }
}

function showProgress(fraction) {
  const percent = Math.round(fraction * 100);
  $('progress').value = percent;
  $('percent').textContent = `${percent}%`;
}

function finish(note) {
  step('ready');
  for (const item of $('steps').children) item.className = 'done';
  if (note) addDetail('Note', note);
  document.body.dataset.state = 'ready';
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
  document.body.dataset.state = 'error';
}

function resetView() {
  $('progress-panel').hidden = false;
  $('error').hidden = true;
  $('result').hidden = true;
  $('preview').replaceChildren();
  $('outputs').replaceChildren();
  $('details').replaceChildren();
  showProgress(0);
  step('token');
}
