// The upcall demo: what a web app does, with upcall's client library (`/upcall.js`, the browser bundle of client/).
// Sign in (here: the dev stack's /dev-token), then hand each file to the library: it asks the token function for a
// grant, uploads straight to OSS (a signed form for small files, parallel parts for large ones, resumable from
// IndexedDB), returns the callback's answer, waits for the media manifest and presigns the outputs.

import { createLimiter, createUpload, UploadError } from './upcall.js';

const $ = (id) => document.getElementById(id);
const STEPS = ['upload', 'callback', 'processing', 'ready'];
/** Two files upload at once; the others wait their turn (the card says so). */
const limiter = createLimiter(2);
const cards = new Set();

const config = await fetchJson('config.json');
document.body.dataset.state = 'idle';

$('file').addEventListener('change', () => {
  addFiles($('file').files);
  $('file').value = '';
});
const drop = $('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  addFiles(event.dataTransfer?.files ?? []);
});

function addFiles(files) {
  const user = $('user').value.trim();
  if (!user) {
    $('user').reportValidity();
    return;
  }
  for (const file of files) startCard(file, user);
}

/** The app's sign-in: a fresh caller JWT each time the library asks (it asks for every grant). */
async function authorization(user) {
  const { jwt } = await fetchJson(`dev-token?user=${encodeURIComponent(user)}`);
  return `Bearer ${jwt}`;
}

function startCard(file, user) {
  const card = $('upload-card').content.firstElementChild.cloneNode(true);
  const find = (selector) => card.querySelector(selector);
  find('.name').textContent = file.name;
  find('.size').textContent = size(file.size);
  $('uploads').append(card);
  cards.add(card);
  let progressEvents = 0;

  const begin = () => {
    resetCard(card);
    const upload = createUpload(file, {
      tokenUrl: config.tokenUrl,
      authorization: () => authorization(user),
      limiter,
      waitForOutputs: true,
      onProgress: (progress) => {
        // Counted on the card for the end-to-end tests (and anyone curious in devtools).
        card.dataset.progressEvents = String(++progressEvents);
        showProgress(card, progress);
      },
      onStateChange: (state) => setState(card, state),
      onAnswer: (answer) => describeUpload(card, answer),
      onRetry: ({ request, attempt, reason }) => {
        find('.status').textContent = `${request} failed (${reason}); retry ${attempt}…`;
      },
    });
    find('.pause').onclick = () => upload.pause();
    find('.resume').onclick = () => upload.resume();
    find('.cancel').onclick = () => void upload.cancel();
    upload.done.then(
      (result) => showResult(card, result),
      (error) => showError(card, error),
    );
  };
  find('.retry').onclick = begin;
  begin();
}

/** The card follows the library's states; the page's own state sums them up (for the tests). */
function setState(card, state) {
  card.dataset.state = state;
  const find = (selector) => card.querySelector(selector);
  find('.pause').hidden = !(state === 'queued' || state === 'uploading');
  find('.resume').hidden = state !== 'paused';
  find('.cancel').hidden = state === 'done' || state === 'failed';
  find('.retry').hidden = true;
  clearInterval(card.ticker);
  if (state === 'queued') find('.status').textContent = 'Waiting for a free slot…';
  if (state === 'paused') find('.status').textContent = 'Paused: the parts OSS has are kept.';
  if (state === 'uploading') markStep(card, 'upload');
  if (state === 'processing') {
    markStep(card, 'processing');
    // A sign of life while the media worker runs: the time it has taken so far.
    const since = Date.now();
    const tick = () => {
      find('.status').textContent = `Processing… ${Math.floor((Date.now() - since) / 1000)} s`;
    };
    tick();
    card.ticker = setInterval(tick, 1000);
  }
  if (state === 'done') {
    markStep(card, 'ready');
    for (const item of find('.steps').children) item.className = 'done';
  }
  const states = [...cards].map((c) => c.dataset.state);
  document.body.dataset.state = states.some((s) => ['queued', 'uploading', 'processing'].includes(s))
    ? 'busy'
    : states.includes('failed')
      ? 'error'
      : 'ready';
}

/** Steps before `name` are done, `name` is the current one. */
function markStep(card, name) {
  const reached = STEPS.indexOf(name);
  for (const item of card.querySelector('.steps').children) {
    const index = STEPS.indexOf(item.dataset.step);
    item.className = index < reached ? 'done' : index === reached ? 'active' : '';
  }
}

function showProgress(card, { loaded, total, fraction, bytesPerSecond, etaSeconds, resumedBytes }) {
  const percent = Math.floor(fraction * 100);
  const meter = card.querySelector('.meter');
  meter.setAttribute('aria-valuenow', String(percent));
  meter.firstElementChild.style.width = `${percent}%`;
  card.querySelector('.percent').textContent = `${percent}%`;
  if (card.dataset.state !== 'uploading') return;
  const rate = bytesPerSecond > 0 ? ` · ${size(bytesPerSecond)}/s` : '';
  const eta = etaSeconds !== null && fraction < 1 ? ` · ${Math.ceil(etaSeconds)} s left` : '';
  const resumed = resumedBytes > 0 ? ` (resumed: ${size(resumedBytes)} were already there)` : '';
  card.querySelector('.status').textContent = `${size(loaded)} of ${size(total)}${rate}${eta}${resumed}`;
}

function describeUpload(card, answer) {
  markStep(card, 'processing');
  const { object } = answer;
  addDetail(card, 'User', answer.userId);
  addDetail(card, 'Key', object.key);
  addDetail(card, 'ETag', object.etag);
  addDetail(card, 'Size', `${size(object.size)} (${object.contentType})`);
  if (object.claimedImage) {
    const { width, height, format } = object.claimedImage;
    addDetail(card, 'Image (as claimed)', `${width}×${height} ${format}`);
  }
}

function showResult(card, result) {
  card.querySelector('.status').textContent = result.multipart
    ? `Uploaded in parts${result.resumedBytes > 0 ? `, resumed with ${size(result.resumedBytes)} already in OSS` : ''}.`
    : 'Uploaded with one signed form.';
  card.dataset.resumedBytes = String(result.resumedBytes);
  const [job] = result.jobs ?? [];
  if (!job) {
    addDetail(card, 'Note', 'No media job for this type: the upload is stored, nothing to derive.');
    return;
  }
  const { manifest, outputs } = job;
  const largest = (role) =>
    outputs.filter((o) => o.role === role).sort((a, b) => b.width * b.height - a.width * a.height)[0];
  const preview = card.querySelector('.preview');
  if (manifest.kind === 'video') {
    const video = document.createElement('video');
    const transcode = largest('transcode');
    const poster = largest('poster');
    video.controls = true;
    video.muted = true;
    video.playsInline = true;
    video.preload = 'metadata';
    if (poster) video.poster = poster.url;
    if (transcode) video.src = transcode.url;
    preview.replaceChildren(video);
  } else {
    const image = document.createElement('img');
    image.alt = `Thumbnail of ${manifest.key}`;
    image.src = largest('thumbnail').url;
    preview.replaceChildren(image);
  }
  preview.hidden = false;
  const list = card.querySelector('.outputs');
  list.querySelector('summary').textContent = `Outputs (${outputs.length})`;
  list.querySelector('ul').replaceChildren(
    ...outputs.map((output) => {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = output.url;
      link.target = '_blank';
      link.textContent = output.key.split('/').pop();
      const extra = output.durationMs === undefined ? '' : `, ${(output.durationMs / 1000).toFixed(1)} s`;
      item.append(link, ` — ${output.role}, ${output.width}×${output.height}, ${size(output.bytes)}${extra}`);
      return item;
    }),
  );
  list.hidden = outputs.length === 0;
  addDetail(card, 'Processed by', `${manifest.source} path, attempt ${manifest.attempt}`);
  addDetail(card, 'Took', `${manifest.timings.finishedAt - manifest.timings.startedAt} ms`);
}

/** Which step failed, in red; the steps after it stay blank, and there is no empty outputs list. */
function showError(card, error) {
  const code = error instanceof UploadError ? error.code : 'Unexpected';
  const find = (selector) => card.querySelector(selector);
  const failedAt =
    code === 'CallbackRefused'
      ? 'callback'
      : code === 'ProcessingFailed' || code === 'TimedOut'
        ? 'processing'
        : (find('.steps .active')?.dataset.step ?? 'upload');
  markStep(card, failedAt);
  find(`.steps [data-step="${failedAt}"]`).className = 'failed';
  card.dataset.failedAt = failedAt;
  find('.outputs').hidden = true;
  find('.status').textContent = '';
  if (code === 'Aborted') {
    find('.status').textContent = 'Cancelled.';
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  find('.error').textContent = `${code}: ${message}`;
  find('.error').hidden = false;
  // Worth another go (the network, the token endpoint, a slow worker): a retry resumes from the checkpoint.
  find('.retry').hidden = !(error instanceof UploadError && error.retryable);
}

function resetCard(card) {
  const find = (selector) => card.querySelector(selector);
  delete card.dataset.failedAt;
  find('.error').hidden = true;
  find('.preview').hidden = true;
  find('.details').hidden = true;
  find('.details').replaceChildren();
  find('.outputs').hidden = true;
  find('.status').textContent = '';
  find('.meter').setAttribute('aria-valuenow', '0');
  find('.fill').style.width = '0%';
  find('.percent').textContent = '0%';
  markStep(card, 'upload');
}

function addDetail(card, term, value) {
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = value;
  const details = card.querySelector('.details');
  details.append(dt, dd);
  details.hidden = false;
}

async function fetchJson(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(`${url}: ${body.error?.code}: ${body.error?.message}`);
  return body;
}

function size(bytes) {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
