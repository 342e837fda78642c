// End-to-end test of the built page (dist/) in headless Chromium, driven by playwright-core.
//
// Chromium's fake camera plays a clip made at test time from real photos of one person. The
// test enrolls another photo of that person and expects a match, then a photo of someone else
// and expects no match, and checks that frames leak no memory, before and after a WebGPU
// device loss. It also runs fine-tuning, and keeps the fine-tuned embedder and an enrollment
// made with it across a reload before deleting them. Then it saves and deletes an enrollment
// and checks the camera-refused message. It fails on any request that leaves the
// page's own origin or is not a GET of one of the built page's files, and checks that the
// Content-Security-Policy blocks a request to another local server.
//
// Usage: node tests/e2e/e2e.mjs   (run from the crate root after `trunk build`)
// Environment: SEPFACE_DATA (face data folder, default ../shared/data), SEPFACE_DIST (default
// dist), SEPFACE_ARTIFACTS (screenshots, default artifacts), SEPFACE_BACKEND (auto, cpu or webgpu).

import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';

const root = resolve(process.env.SEPFACE_DIST || 'dist');
const data = resolve(process.env.SEPFACE_DATA || '../shared/data');
const artifacts = resolve(process.env.SEPFACE_ARTIFACTS || 'artifacts');
const backend = process.env.SEPFACE_BACKEND || 'auto';
const lfw = join(data, 'lfw', 'lfw-deepfunneled');
const photo = (name, number) => join(lfw, name, `${name}_${String(number).padStart(4, '0')}.jpg`);

// The person the camera shows, the photo enrolled for them, and someone else.
const CAMERA = ['George_W_Bush', [16, 150, 238]];
const SAME = photo('George_W_Bush', 7);
const OTHER = photo('Jennifer_Aniston', 3);
const TUNING = [[photo('Tony_Blair', 6), photo('Tony_Blair', 32), photo('Tony_Blair', 48)], [photo('Colin_Powell', 40), photo('Colin_Powell', 49), photo('Colin_Powell', 71)]];

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.bpk': 'application/octet-stream', '.json': 'application/json' };

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/** Serves `root` on 127.0.0.1 and records every request as `{ method, path, status }`. */
function serve() {
  const served = [];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const file = join(root, path === '/' ? 'index.html' : path);
    const found = request.method === 'GET' && file.startsWith(root) && existsSync(file) && statSync(file).isFile();
    served.push({ method: request.method, path, status: found ? 200 : 404 });
    if (!found) {
      response.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Content-Length': body.length });
    response.end(body);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, served, origin: `http://127.0.0.1:${server.address().port}` })));
}

function makeClip() {
  const clip = join(tmpdir(), `sepface-e2e-${process.pid}.y4m`);
  const [name, numbers] = CAMERA;
  execFileSync('cargo', ['run', '--quiet', '--release', '--example', 'make_y4m', '--', clip, ...numbers.map((n) => photo(name, n))], { stdio: 'inherit' });
  return clip;
}

const BASE_FLAGS = ['--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps'];

async function launch(extra) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...BASE_FLAGS, ...extra] });
}

/** Collects the verdict's state over `count` new frames. */
async function verdicts(page, count) {
  const states = [];
  const deadline = Date.now() + 600_000;
  let last = await page.getAttribute('body', 'data-frame-ms');
  while (states.length < count && Date.now() < deadline) {
    await page.waitForTimeout(100);
    const now = await page.getAttribute('body', 'data-frame-ms');
    const state = await page.getAttribute('#verdict', 'data-state');
    if (state && state !== 'idle' && now !== last) states.push(state);
    last = now;
  }
  return states;
}

async function enroll(page, file) {
  await page.click('#enroll-clear');
  await page.setInputFiles('#enroll-files', file);
  await page.waitForFunction(() => document.querySelectorAll('#enroll-gallery canvas').length + document.querySelectorAll('#enroll-errors li').length > 0, null, { timeout: 300_000 });
  const errors = await page.$$eval('#enroll-errors li', (items) => items.map((item) => item.textContent));
  if (errors.length) fail(`enrolling ${file}: ${errors.join('; ')}`);
}

async function expectMajority(page, wanted, label) {
  const states = await verdicts(page, 8);
  const hits = states.filter((state) => state === wanted).length;
  console.log(`${label}: ${JSON.stringify(states)}`);
  await page.screenshot({ path: join(artifacts, `e2e-${label}.png`), fullPage: true });
  if (hits * 2 <= states.length) fail(`${label}: expected mostly "${wanted}" verdicts, got ${JSON.stringify(states)}`);
}

/**
 * Runs `frames` more verification frames in two halves and checks memory. It fails if the
 * bytes in use in the wasm heap grew in both halves or by more than 16 KiB. On WebGPU it also
 * fails if the buffers in burn's allocator (read every 10 frames) changed. A leak grows with
 * every frame, so in both halves, while a cache that fills once grows in one.
 */
async function noLeakPerFrame(page, frames) {
  const read = () => page.evaluate(() => ({ ...document.body.dataset }));
  const reach = (count) => page.waitForFunction((n) => Number(document.body.dataset.frames) >= n, count, { timeout: 600_000 });
  await reach(Number((await read()).frames) + 10);
  const start = await read();
  await reach(Number(start.frames) + frames / 2);
  const middle = await read();
  await reach(Number(start.frames) + frames);
  const end = await read();
  const where = `frames ${start.frames} to ${end.frames} on ${end.backend}`;
  const readings = [start, middle, end].map((sample) => Number(sample.heapBytes));
  if (!readings.every((bytes) => Number.isFinite(bytes) && bytes > 0)) fail(`${where}: the page published no wasm heap count: ${readings}`);
  const [first, second] = [readings[1] - readings[0], readings[2] - readings[1]];
  const heap = `${start.heapBytes} -> ${middle.heapBytes} -> ${end.heapBytes} bytes`;
  if ((first > 0 && second > 0) || first + second > 16384) fail(`${where}: the wasm heap grew: ${heap}`);
  let gpu = '';
  if (end.backend === 'webgpu') {
    if (!Number.isFinite(Number(start.gpuAllocations)) || !Number.isFinite(Number(end.gpuBytesInUse))) fail(`${where}: the page published no GPU memory figures`);
    if (end.gpuAllocations !== start.gpuAllocations || end.gpuBytesInUse !== start.gpuBytesInUse) {
      fail(`${where}: GPU memory went from ${start.gpuAllocations} buffers, ${start.gpuBytesInUse} bytes to ${end.gpuAllocations}, ${end.gpuBytesInUse}`);
    }
    gpu = `, GPU ${end.gpuAllocations} buffers and ${end.gpuBytesInUse} bytes in use`;
  }
  console.log(`no leak over ${where}: wasm heap ${heap}${gpu}`);
}

// Keeps every WebGPU device the page requests, so the test can destroy it as a driver reset
// would. Runs in the page before its own scripts.
function keepGpuDevices() {
  if (!globalThis.GPUAdapter) return;
  const requestDevice = GPUAdapter.prototype.requestDevice;
  globalThis.testGpuDevices = [];
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    globalThis.testGpuDevices.push(device);
    return device;
  };
}

/** Destroys the page's WebGPU device mid-stream: verification must go on on the CPU, with a notice. */
async function deviceLoss(page) {
  if ((await page.getAttribute('body', 'data-backend')) !== 'webgpu') {
    console.log('device loss: skipped, the page does not run on WebGPU here');
    return;
  }
  const destroyed = await page.evaluate(() => globalThis.testGpuDevices.map((device) => device.destroy()).length);
  if (destroyed === 0) fail('device loss: the page runs on WebGPU but asked for no device');
  await page.waitForSelector('body[data-backend="cpu"]', { timeout: 120_000 });
  const notice = await page.textContent('#notice');
  if (!(await page.isVisible('#notice')) || !notice.includes('lost')) fail(`device loss: no notice of the lost device, got "${notice}"`);
  console.log(`device loss: ${notice}`);
  await expectMajority(page, 'no-match', 'no-match-after-gpu-loss');
}

async function fineTune(page) {
  const galleryCount = () => page.$$eval('#tune-gallery canvas', (items) => items.length);
  for (const [person, files] of TUNING.entries()) {
    const before = await galleryCount();
    await page.selectOption('#tune-person', String(person));
    await page.setInputFiles('#tune-files', files);
    // Each photo ends as a gallery thumbnail or as an error line (the list is reset per upload).
    await page.waitForFunction(([start, n]) => document.querySelectorAll('#tune-gallery canvas').length - start + document.querySelectorAll('#tune-errors li').length >= n, [before, files.length], { timeout: 300_000 });
    const errors = await page.$$eval('#tune-errors li', (items) => items.map((item) => item.textContent));
    if (errors.length) console.log(`fine-tuning photos rejected: ${errors.join('; ')}`);
    if ((await galleryCount()) - before < 3) fail(`fine-tuning: fewer than 3 photos of person ${person + 1} accepted: ${errors.join('; ')}`);
  }
  await page.fill('#tune-steps', '3');
  await page.click('#tune-run');
  await page.waitForFunction(() => ['done', 'failed'].includes(document.body.dataset.tuning), null, { timeout: 600_000 });
  const status = await page.textContent('#tune-status');
  await page.screenshot({ path: join(artifacts, 'e2e-fine-tuning.png'), fullPage: true });
  if (!status.includes('Threshold refitted')) fail(`fine-tuning did not finish: ${status}`);
}

/**
 * Keeps the fine-tuned embedder and saves an enrollment made with it. After a reload the page
 * must use that embedder and load the enrollment, which must still fit it. Then deletes both.
 */
async function savedEmbedder(page) {
  await page.click('#tune-apply');
  await page.waitForFunction(() => document.body.dataset.embedder === 'fine-tuned', null, { timeout: 120_000 });
  await enroll(page, SAME);
  await page.click('#enroll-save');
  await page.waitForFunction(() => document.querySelector('#saved-list').dataset.count === '1');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 300_000 });
  const loaded = await page.getAttribute('body', 'data-embedder');
  if (loaded !== 'fine-tuned') fail(`after a reload the page uses the ${loaded} embedder, not the saved fine-tuned one`);
  await page.click('#saved-list button');
  await page.waitForFunction(() => document.querySelector('#verdict').dataset.enrolled === '1' || document.querySelectorAll('#enroll-errors li').length > 0, null, { timeout: 60_000 });
  const errors = await page.$$eval('#enroll-errors li', (items) => items.map((item) => item.textContent));
  if (errors.length) fail(`after a reload, the enrollment made with the fine-tuned embedder does not load: ${errors.join('; ')}`);
  await page.click('#enroll-delete');
  await page.waitForFunction(() => document.querySelector('#saved-list').dataset.count === '0');
  await page.click('#tune-delete-saved');
  await page.waitForLoadState('load');
  await page.waitForSelector('body[data-ready="true"][data-embedder="shipped"]', { timeout: 300_000 });
  console.log('saved fine-tuned embedder and an enrollment made with it: kept across a reload, then deleted');
}

async function savedEnrollments(page) {
  await enroll(page, SAME);
  await page.click('#enroll-save');
  await page.waitForFunction(() => document.querySelector('#saved-list').dataset.count === '1');
  await page.click('#enroll-delete');
  await page.waitForFunction(() => document.querySelector('#saved-list').dataset.count === '0');
}

async function cameraRefused(origin, requests) {
  const browser = await launch([]);
  const context = await browser.newContext({ permissions: [] });
  const page = await context.newPage();
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(`${origin}/?backend=cpu`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 300_000 });
  await page.click('#camera-start');
  await page.waitForSelector('#camera-error:not([hidden])', { timeout: 60_000 });
  const message = await page.textContent('#camera-error');
  await browser.close();
  if (!/refused|No camera/.test(message)) fail(`camera refusal message: ${message}`);
  console.log(`camera refused: ${message}`);
}

/**
 * Checks that the page's Content-Security-Policy blocks a fetch and an image from another
 * server on 127.0.0.1, and that the server receives nothing.
 */
async function policyBlocksOtherServers(page) {
  let hits = 0;
  const other = createServer((request, response) => { hits += 1; response.writeHead(200, { 'Access-Control-Allow-Origin': '*' }).end('x'); });
  await new Promise((done) => other.listen(0, '127.0.0.1', done));
  const target = `http://127.0.0.1:${other.address().port}/probe`;
  const outcome = await page.evaluate(async (url) => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (event) => violations.push(event.violatedDirective));
    const fetched = await fetch(url).then(() => 'loaded', () => 'blocked');
    const image = await new Promise((done) => { const img = new Image(); img.onload = () => done('loaded'); img.onerror = () => done('blocked'); img.src = url; });
    await new Promise((done) => setTimeout(done, 100));
    return { fetched, image, violations };
  }, target);
  other.close();
  if (outcome.fetched !== 'blocked' || outcome.image !== 'blocked' || hits > 0) fail(`the page reached another server: ${JSON.stringify(outcome)}, ${hits} request(s) received`);
  if (!outcome.violations.some((d) => d.startsWith('connect-src')) || !outcome.violations.some((d) => d.startsWith('img-src'))) fail(`no policy violation reported: ${JSON.stringify(outcome)}`);
  console.log(`content security policy: blocked ${outcome.violations.join(', ')}`);
}

async function main() {
  if (!existsSync(lfw)) {
    console.log(`skipping the end-to-end test: no LFW photos at ${lfw} (set SEPFACE_DATA)`);
    return;
  }
  if (!existsSync(join(root, 'index.html'))) fail(`no built page at ${root}; run \`trunk build\` first`);
  mkdirSync(artifacts, { recursive: true });
  const clip = makeClip();
  const { server, served, origin } = await serve();
  const browser = await launch(['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`, '--use-fake-ui-for-media-stream']);
  const page = await browser.newPage();
  await page.addInitScript(keepGpuDevices);
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => { if (message.type() === 'error') console.log(`page error: ${message.text()}`); });
  const started = Date.now();
  await page.goto(`${origin}/?backend=${backend}`);
  await page.waitForSelector('body[data-ready="true"], #fatal:not([hidden])', { timeout: 300_000 });
  if (await page.isVisible('#fatal')) fail(`the page did not start: ${await page.textContent('#fatal')}`);
  console.log(`page ready in ${((Date.now() - started) / 1000).toFixed(1)} s on ${await page.getAttribute('body', 'data-backend')}`);

  await enroll(page, SAME);
  await page.click('#camera-start');
  await expectMajority(page, 'match', 'match');
  await enroll(page, OTHER);
  await expectMajority(page, 'no-match', 'no-match');
  await noLeakPerFrame(page, 30);
  await deviceLoss(page);
  await noLeakPerFrame(page, 200);
  await page.click('#camera-stop');
  await fineTune(page);
  await savedEmbedder(page);
  await savedEnrollments(page);
  const foreign = requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:'));
  if (foreign.length) fail(`the page made requests outside its origin: ${foreign.join(', ')}`);
  await policyBlocksOtherServers(page);
  await browser.close();
  const refusedRequests = [];
  await cameraRefused(origin, refusedRequests);
  server.close();

  const outside = refusedRequests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:'));
  if (outside.length) fail(`the camera-refused page made requests outside its origin: ${outside.join(', ')}`);
  const unknown = served.filter((request) => request.status !== 200);
  if (unknown.length) fail(`the page asked for something other than a GET of its own files: ${JSON.stringify(unknown)}`);
  console.log(`privacy: ${requests.length + refusedRequests.length} requests, all GETs of the page's files: ${[...new Set(served.map((request) => request.path))].join(' ')}`);
  console.log('end-to-end test passed');
}

main().catch((error) => fail(error.stack || String(error)));
