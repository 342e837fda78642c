// The page's glue: browser APIs (camera, files, canvas, IndexedDB) around the wasm App, which
// does all detection, embedding, verification and fine-tuning.
import init, { App } from './sepface.js';

const $ = (id) => document.getElementById(id);
const state = { app: null, stream: null, running: false, busy: false, tuning: false, stopTuning: false, frames: [], steps: [], startRecord: null, queue: Promise.resolve() };

function setStatus(text, progress) {
  $('status-text').textContent = text;
  const bar = $('load-progress');
  if (progress === undefined) bar.hidden = true; else { bar.hidden = false; bar.value = progress; }
}

function fatal(message) {
  const box = $('fatal');
  box.textContent = message;
  box.hidden = false;
  setStatus('Could not start');
}

// wasm-bindgen rejects a call into the App while another call still borrows it (an await in
// Rust keeps the borrow), so every call after start-up waits for the previous one. When the
// browser loses the WebGPU device, the App moves itself to the CPU; the page then shows a notice
// and runs a call that failed on the lost device once more.
function withApp(task) {
  const run = state.queue.then(async () => {
    const before = state.app.backend();
    try {
      const result = await task(state.app);
      backendChanged(before);
      return result;
    } catch (error) {
      if (!backendChanged(before)) throw error;
      return task(state.app);
    }
  });
  state.queue = run.catch(() => {});
  return run;
}

// Shows the backend in use; returns whether it differs from `before`, with a notice if so.
function backendChanged(before) {
  let backend;
  try { backend = state.app.backend(); } catch { return false; }
  if (backend === before) return false;
  showBackend();
  const notice = $('notice');
  const reason = state.app.backendReason();
  notice.textContent = `${reason.charAt(0).toUpperCase()}${reason.slice(1)}. Verification goes on. A fine-tuning run in progress, or one not yet applied, must be run again.`;
  notice.hidden = false;
  return true;
}

function showBackend(startUp) {
  const backend = state.app.backend();
  const took = startUp === undefined ? '' : ` Start-up took ${(startUp / 1000).toFixed(1)} s.`;
  $('backend').textContent = `Running on ${backend === 'webgpu' ? 'WebGPU' : 'the CPU (WebAssembly)'}: ${state.app.backendReason()}.${took}`;
  $('backend-short').textContent = backend;
  document.body.dataset.backend = backend;
}

function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

// Downloads a file of this origin, reporting progress; a short body is an error, not a blank page.
async function fetchBytes(url, label, onProgress) {
  let response;
  try { response = await fetch(url); } catch (error) { throw new Error(`could not download ${label} from ${url}: ${errorText(error)}`); }
  if (!response.ok) throw new Error(`could not download ${label} from ${url}: HTTP ${response.status}. Check that models/ is served beside the page`);
  const expected = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, expected);
  }
  if (expected && received !== expected) throw new Error(`${label} is truncated: got ${received} of ${expected} bytes. Reload the page`);
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) { bytes.set(chunk, offset); offset += chunk.length; }
  return bytes;
}

async function start() {
  setStatus('Loading the WebAssembly module…', 0);
  const wasm = await init();
  state.memory = wasm.memory;
  const files = [['models/detector.bpk', 'the detector'], ['models/embedder.bpk', 'the embedder']];
  const progress = new Map();
  const report = () => {
    let got = 0, total = 0;
    for (const [g, t] of progress.values()) { got += g; total += t; }
    setStatus(`Downloading the models… ${(got / 1e6).toFixed(1)} MB`, total ? got / total : 0);
  };
  const [detector, shipped] = await Promise.all(files.map(([url, label]) =>
    fetchBytes(url, label, (got, total) => { progress.set(url, [got, total]); report(); })));
  setStatus('Starting the backend…');
  const preference = new URLSearchParams(location.search).get('backend') || 'auto';
  const started = performance.now();
  state.app = await createApp(detector, shipped, preference);
  state.readyAt = performance.now();
  showBackend(state.readyAt - started);
  const threshold = state.app.settings().threshold;
  $('threshold').value = threshold;
  $('threshold-value').textContent = threshold.toFixed(2);
  setStatus('Ready');
  $('app').hidden = false;
  // Milliseconds since navigation start, read by the tests and benchmarks.
  document.body.dataset.readyAt = String(Math.round(state.readyAt));
  document.body.dataset.ready = 'true';
  await listSaved();
}

// Starts the App with the fine-tuned embedder saved on this device, if there is one and it
// loads, and with the shipped embedder otherwise.
async function createApp(detector, shipped, preference) {
  let saved = null;
  try { saved = await withStore('readonly', (store) => store.get('fine-tuned'), 'embedders'); } catch (error) { console.error('failed to read the saved fine-tuned embedder from IndexedDB, so the shipped one runs', error); }
  if (saved) {
    try {
      const app = await App.create(detector, new Uint8Array(saved.bytes), preference);
      showSavedEmbedder(true, `Using your fine-tuned embedder saved on this device on ${new Date(saved.created).toLocaleString()}.`);
      setStartEmbedder(saved);
      return app;
    } catch (error) {
      showSavedEmbedder(true, `The fine-tuned embedder saved on this device could not be loaded (${errorText(error)}), so the shipped one runs. Delete it to remove it.`);
    }
  }
  document.body.dataset.embedder = 'shipped';
  setStartEmbedder(null);
  return App.create(detector, shipped, preference);
}

// Records the saved embedder the App started with (its IndexedDB record), or null for the
// shipped one: `revertTuning` goes back to it.
function setStartEmbedder(record) {
  state.startRecord = record;
  $('tune-revert').textContent = record ? 'Revert to the saved fine-tuned embedder' : 'Revert to the shipped embedder';
}

function showSavedEmbedder(saved, message) {
  document.body.dataset.embedder = saved ? 'fine-tuned' : 'shipped';
  $('tune-delete-saved').hidden = !saved;
  if (message) $('tune-status').textContent = message;
}

// ---- enrollment ----

function thumbnail(result, title) {
  const canvas = document.createElement('canvas');
  canvas.width = result.crop_size;
  canvas.height = result.crop_size;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(result.crop), result.crop_size, result.crop_size), 0, 0);
  canvas.title = title;
  return canvas;
}

function addError(list, name, error) {
  const item = document.createElement('li');
  item.textContent = `${name}: ${errorText(error)}`;
  $(list).append(item);
}

async function enrollFiles(files) {
  $('enroll-errors').replaceChildren();
  for (const file of files) {
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const result = await withApp((app) => app.enrollFile(bytes, file.name));
      $('enroll-gallery').append(thumbnail(result, file.name));
      if (result.others > 0) addError('enroll-errors', file.name, `Found ${result.others + 1} faces in this photo: enrolled the largest, shown above. Use a photo of one person if that is not the face you meant`);
      enrolledChanged(result.photos);
    } catch (error) { addError('enroll-errors', file.name, error); }
  }
}

function enrolledChanged(photos) {
  $('enroll-save').disabled = photos === 0;
  $('verdict').dataset.enrolled = String(photos);
  if (photos === 0) setVerdict('idle', 'Enroll a face and start the camera');
}

function grabFrame(maxWidth = 480) {
  const video = $('video');
  const scale = Math.min(1, maxWidth / video.videoWidth);
  const width = Math.round(video.videoWidth * scale), height = Math.round(video.videoHeight * scale);
  const canvas = grabFrame.canvas || (grabFrame.canvas = document.createElement('canvas'));
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(video, 0, 0, width, height);
  return { data: new Uint8Array(context.getImageData(0, 0, width, height).data.buffer), width, height };
}

async function enrollCapture() {
  $('enroll-errors').replaceChildren();
  try {
    const frame = grabFrame(960);
    const result = await withApp((app) => app.enrollFrame(frame.data, frame.width, frame.height));
    $('enroll-gallery').append(thumbnail(result, 'camera capture'));
    enrolledChanged(result.photos);
  } catch (error) { addError('enroll-errors', 'camera capture', error); }
}

// ---- saved enrollments (IndexedDB) ----

// Version 2 adds the `embedders` store (fine-tuned weights kept on this device).
function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open('sepface', 2);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('enrollments')) db.createObjectStore('enrollments', { keyPath: 'id', autoIncrement: true });
      if (!db.objectStoreNames.contains('embedders')) db.createObjectStore('embedders', { keyPath: 'name' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action, storeName = 'enrollments') {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const result = action(transaction.objectStore(storeName));
    transaction.oncomplete = () => { db.close(); resolve(result.result); };
    transaction.onerror = () => { db.close(); reject(transaction.error); };
  });
}

async function listSaved() {
  const saved = await withStore('readonly', (store) => store.getAll());
  const list = $('saved-list');
  list.replaceChildren();
  list.dataset.count = String(saved.length);
  for (const entry of saved) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `Load ${entry.name}`;
    button.onclick = async () => {
      try {
        const photos = await withApp((app) => app.loadEnrollment(entry.json));
        $('enroll-gallery').replaceChildren();
        enrolledChanged(photos);
      } catch (error) { addError('enroll-errors', entry.name, error); }
    };
    list.append(button);
  }
}

async function saveEnrollment() {
  const json = await withApp((app) => app.enrollmentJson());
  if (!json) return;
  const name = `enrollment of ${new Date().toLocaleString()}`;
  await withStore('readwrite', (store) => store.add({ name, json, created: Date.now() }));
  await listSaved();
}

async function deleteSaved() {
  await withStore('readwrite', (store) => store.clear());
  await listSaved();
}

// ---- camera and live verification ----

function cameraError(error) {
  if (!window.isSecureContext) return 'The camera needs a secure page: open it over https:// or from http://localhost.';
  switch (error && error.name) {
    case 'NotAllowedError': return 'Camera access was refused. Allow the camera in the browser\'s site settings and press Start camera again.';
    case 'NotFoundError': case 'OverconstrainedError': return 'No camera was found. Connect a camera, or enroll and verify with photo files instead.';
    case 'NotReadableError': return 'The camera is in use by another application. Close it and press Start camera again.';
    default: return `The camera could not start: ${errorText(error)}`;
  }
}

async function startCamera() {
  $('camera-error').hidden = true;
  try {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('no mediaDevices API');
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (error) {
    $('camera-error').textContent = cameraError(error);
    $('camera-error').hidden = false;
    return;
  }
  const video = $('video');
  video.srcObject = state.stream;
  await video.play();
  document.body.dataset.cameraStartAt = String(Math.round(performance.now()));
  state.running = true;
  for (const id of ['camera-stop', 'enroll-capture', 'tune-capture']) $(id).disabled = false;
  $('camera-start').disabled = true;
  requestAnimationFrame(loop);
}

function stopCamera() {
  state.running = false;
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  state.stream = null;
  for (const id of ['camera-stop', 'enroll-capture', 'tune-capture']) $(id).disabled = true;
  $('camera-start').disabled = false;
  setVerdict('idle', 'Camera stopped');
}

function setVerdict(kind, text) {
  const verdict = $('verdict');
  verdict.className = `verdict ${kind}`;
  verdict.dataset.state = kind;
  verdict.textContent = text;
}

function drawBox(box, color) {
  const video = $('video'), overlay = $('overlay');
  overlay.width = video.clientWidth; overlay.height = video.clientHeight;
  const context = overlay.getContext('2d');
  context.clearRect(0, 0, overlay.width, overlay.height);
  if (!box) return;
  context.strokeStyle = color;
  context.lineWidth = 3;
  context.strokeRect(box.left * overlay.width, box.top * overlay.height, (box.right - box.left) * overlay.width, (box.bottom - box.top) * overlay.height);
}

async function loop() {
  if (!state.running) return;
  if (!state.busy && $('video').videoWidth > 0 && !state.tuning) {
    state.busy = true;
    try { await verifyOnce(); } finally { state.busy = false; }
  }
  requestAnimationFrame(loop);
}

async function verifyOnce() {
  const frame = grabFrame();
  const began = performance.now();
  const enrolled = Number($('verdict').dataset.enrolled || '0') > 0;
  try {
    if (!enrolled) {
      const detection = await withApp((app) => app.detectFrame(frame.data, frame.width, frame.height));
      drawBox(detection.face_box, '#888');
      setVerdict('idle', 'Face found: enroll someone to compare with');
    } else {
      const result = await withApp((app) => app.verifyFrame(frame.data, frame.width, frame.height));
      drawBox(result.face_box, result.is_match ? '#1a7f37' : '#cf222e');
      const others = result.others > 0 ? ` (${result.others + 1} faces in view: comparing the largest)` : '';
      setVerdict(result.is_match ? 'match' : 'no-match', `${result.is_match ? 'Match: same person' : 'No match: different person'}${others}`);
      $('distance').textContent = result.distance.toFixed(3);
      if (!state.firstVerdictAt) {
        state.firstVerdictAt = performance.now();
        document.body.dataset.firstVerdictAt = String(Math.round(state.firstVerdictAt));
      }
    }
  } catch (error) {
    drawBox(null);
    setVerdict('no-face', errorText(error));
  }
  const now = performance.now();
  state.frames.push(now);
  while (state.frames.length && now - state.frames[0] > 2000) state.frames.shift();
  $('fps').textContent = (state.frames.length / 2).toFixed(1);
  // Read by the tests and benchmarks: frame latency, frames so far, wasm linear memory and the
  // bytes in use in its heap.
  document.body.dataset.frameMs = String(Math.round(now - began));
  state.frameCount = (state.frameCount || 0) + 1;
  document.body.dataset.frames = String(state.frameCount);
  document.body.dataset.wasmBytes = String(state.memory.buffer.byteLength);
  document.body.dataset.heapBytes = String(await withApp((app) => app.heapBytesInUse()));
  if (state.frameCount % 10 === 1) await showDeviceMemory();
}

// Publishes what burn's allocator holds on the GPU (nothing on the CPU backend), for the
// long-run memory benchmark.
async function showDeviceMemory() {
  let usage;
  try { usage = await withApp((app) => app.deviceMemory()); } catch (error) { console.error('could not read the GPU memory use', error); return; }
  if (!usage) return;
  document.body.dataset.gpuAllocations = String(usage.allocations);
  document.body.dataset.gpuBytesInUse = String(usage.bytes_in_use);
  document.body.dataset.gpuBytesReserved = String(usage.bytes_reserved);
}

// ---- fine-tuning ----

async function addTuning(files, source) {
  $('tune-errors').replaceChildren();
  const person = Number($('tune-person').value);
  for (const file of files) {
    if (!file.type.startsWith('image/')) continue;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const result = await withApp((app) => app.addTuningFile(bytes, file.name, person));
      $('tune-gallery').append(thumbnail(result, `${file.name} (person ${person + 1})`));
      if (result.others > 0) addError('tune-errors', file.name, `Found ${result.others + 1} faces in this photo: took the largest`);
    } catch (error) { addError('tune-errors', file.name, error); }
  }
  $('tune-status').textContent = source;
}

async function captureTuning() {
  const person = Number($('tune-person').value);
  try {
    const frame = grabFrame(960);
    const result = await withApp((app) => app.addTuningFrame(frame.data, frame.width, frame.height, person));
    $('tune-gallery').append(thumbnail(result, `camera capture (person ${person + 1})`));
  } catch (error) { addError('tune-errors', 'camera capture', error); }
}

function addPerson() {
  const select = $('tune-person');
  const option = document.createElement('option');
  option.value = String(select.options.length);
  option.textContent = `Person ${select.options.length + 1}`;
  select.append(option);
  select.value = option.value;
}

function plotLines(canvas, series, colors, maxY) {
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.strokeStyle = '#999'; context.strokeRect(30, 5, width - 35, height - 25);
  const count = Math.max(...series.map((s) => s.length), 2);
  const top = maxY ?? Math.max(1e-6, ...series.flat());
  context.fillStyle = '#555'; context.font = '11px sans-serif';
  context.fillText(top.toFixed(2), 0, 12); context.fillText('0', 18, height - 20);
  series.forEach((values, index) => {
    context.strokeStyle = colors[index]; context.beginPath();
    values.forEach((value, step) => {
      const x = 30 + (width - 35) * step / (count - 1), y = 5 + (height - 25) * (1 - value / top);
      if (step === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  });
}

function plotHistogram(canvas, histogram) {
  const context = canvas.getContext('2d');
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const bins = histogram.positive.length;
  const top = Math.max(1, ...histogram.positive, ...histogram.negative);
  const barWidth = (width - 10) / bins;
  for (let bin = 0; bin < bins; bin++) {
    const x = 5 + bin * barWidth;
    for (const [values, color, offset] of [[histogram.positive, 'rgba(26,127,55,0.7)', 0], [histogram.negative, 'rgba(207,34,46,0.6)', barWidth / 2]]) {
      const barHeight = (height - 25) * values[bin] / top;
      context.fillStyle = color;
      context.fillRect(x + offset, height - 20 - barHeight, barWidth / 2 - 1, barHeight);
    }
  }
  context.fillStyle = '#555'; context.font = '11px sans-serif';
  context.fillText(histogram.min.toFixed(1), 2, height - 5); context.fillText(histogram.max.toFixed(1), width - 25, height - 5);
}

async function runTuning() {
  const steps = Math.max(1, Math.min(500, Number($('tune-steps').value) || 40));
  const rate = Number($('tune-rate').value) || 2e-4;
  // Read by the tests: running, then done or failed.
  document.body.dataset.tuning = 'running';
  try {
    await withApp((app) => app.startTuning(rate));
  } catch (error) {
    $('tune-status').textContent = errorText(error);
    document.body.dataset.tuning = 'failed';
    return;
  }
  state.tuning = true; state.stopTuning = false; state.steps = [];
  $('tune-run').disabled = true; $('tune-stop').disabled = false; $('tune-apply').disabled = true;
  try {
    for (let step = 0; step < steps && !state.stopTuning; step++) {
      const result = await withApp((app) => app.tuningStep());
      state.steps.push(result);
      $('tune-status').textContent = `Step ${result.step}/${steps}: loss ${result.loss.toFixed(4)}`;
      plotLines($('loss-chart'), [state.steps.map((s) => s.loss)], ['#0969da']);
      plotLines($('kinds-chart'), [state.steps.map((s) => s.stats.easy), state.steps.map((s) => s.stats.semi_hard), state.steps.map((s) => s.stats.hard)], ['#1a7f37', '#bf8700', '#cf222e'], 1);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const report = await withApp((app) => app.finishTuning());
    plotHistogram($('hist-before'), report.before);
    plotHistogram($('hist-after'), report.after);
    state.fittedThreshold = report.threshold_after ?? report.threshold_before;
    $('tune-status').textContent = `Done. Threshold refitted on your ${report.pairs} photo pairs: ${state.fittedThreshold.toFixed(3)}` +
      (report.accuracy_after != null ? ` (accuracy on them ${(report.accuracy_after * 100).toFixed(1)}%)` : '') + '. Apply it or revert.';
    $('tune-apply').disabled = false;
    document.body.dataset.tuning = 'done';
  } catch (error) {
    $('tune-status').textContent = `Fine-tuning stopped and the previous weights are kept: ${errorText(error)}`;
    document.body.dataset.tuning = 'failed';
  } finally {
    state.tuning = false;
    $('tune-run').disabled = false; $('tune-stop').disabled = true;
  }
}

async function applyTuning() {
  // Saves exactly the applied weights file: its checksum names the embedder in enrollments.
  const bytes = await withApp((app) => app.applyTuning(state.fittedThreshold));
  await afterEmbedderChange('Fine-tuned embedder in use. Enroll again: old enrollments belong to the previous weights.');
  await withStore('readwrite', (store) => store.put({ name: 'fine-tuned', bytes, created: Date.now() }), 'embedders');
  showSavedEmbedder(true, 'Fine-tuned embedder in use and saved on this device. Enroll again: old enrollments belong to the previous weights.');
}

// Deletes the saved fine-tuned embedder and reloads the page with the shipped one.
async function deleteSavedEmbedder() {
  await withStore('readwrite', (store) => store.delete('fine-tuned'), 'embedders');
  location.reload();
}

// Goes back to the embedder the page started with, and makes the saved one match it again, so
// that enrollments saved from now on still load after a reload.
async function revertTuning() {
  await withApp((app) => app.revertTuning());
  if (state.startRecord) {
    await withStore('readwrite', (store) => store.put(state.startRecord), 'embedders');
    showSavedEmbedder(true);
    await afterEmbedderChange('The fine-tuned embedder saved on this device is in use again. Enroll again.');
  } else {
    await withStore('readwrite', (store) => store.delete('fine-tuned'), 'embedders');
    showSavedEmbedder(false);
    await afterEmbedderChange('The shipped embedder is in use again. Enroll again.');
  }
}

async function afterEmbedderChange(message) {
  $('tune-apply').disabled = true;
  $('enroll-gallery').replaceChildren();
  enrolledChanged(0);
  const { threshold } = await withApp((app) => app.settings());
  $('threshold').value = threshold; $('threshold-value').textContent = threshold.toFixed(2);
  $('tune-status').textContent = message;
}

async function downloadEmbedder() {
  const bytes = await withApp((app) => app.exportEmbedder());
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  link.download = 'embedder.bpk';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function wire() {
  $('enroll-files').onchange = (event) => enrollFiles([...event.target.files]).finally(() => { event.target.value = ''; });
  $('enroll-capture').onclick = enrollCapture;
  $('enroll-clear').onclick = async () => { await withApp((app) => app.clearEnrollment()); $('enroll-gallery').replaceChildren(); enrolledChanged(0); };
  $('enroll-save').onclick = () => saveEnrollment().catch((error) => addError('enroll-errors', 'save', error));
  $('enroll-delete').onclick = () => deleteSaved().catch((error) => addError('enroll-errors', 'delete', error));
  $('camera-start').onclick = startCamera;
  $('camera-stop').onclick = stopCamera;
  $('threshold').oninput = (event) => {
    const value = Number(event.target.value);
    withApp((app) => app.setThreshold(value)).catch((error) => console.error(error));
    $('threshold-value').textContent = value.toFixed(2);
  };
  $('tune-files').onchange = (event) => addTuning([...event.target.files], 'Photos added').finally(() => { event.target.value = ''; });
  $('tune-folder').onchange = (event) => addTuning([...event.target.files], 'Folder added').finally(() => { event.target.value = ''; });
  $('tune-capture').onclick = captureTuning;
  $('tune-add-person').onclick = addPerson;
  $('tune-clear').onclick = async () => { await withApp((app) => app.clearTuning()); $('tune-gallery').replaceChildren(); };
  $('tune-run').onclick = runTuning;
  $('tune-stop').onclick = () => { state.stopTuning = true; };
  $('tune-apply').onclick = () => applyTuning().catch((error) => { $('tune-status').textContent = errorText(error); });
  $('tune-delete-saved').onclick = () => deleteSavedEmbedder().catch((error) => { $('tune-status').textContent = errorText(error); });
  $('tune-revert').onclick = () => revertTuning().catch((error) => { $('tune-status').textContent = errorText(error); });
  $('tune-download').onclick = () => downloadEmbedder().catch((error) => { $('tune-status').textContent = errorText(error); });
}

wire();
start().catch((error) => fatal(`sepface could not start: ${errorText(error)}`));
