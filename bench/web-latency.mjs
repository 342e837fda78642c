// Measures the sepface page in headless Chromium: start-up, time to the first verification
// (all times in ms since navigation: ready, photo enrolled, camera streaming, first verdict),
// and per-frame latency (frame grab + detect + embed + compare) on the CPU fallback and on
// WebGPU, with Chromium's fake camera playing photos of one person.
//
// Usage (from the crate root, after `trunk build --release`):
//   node bench/web-latency.mjs [--frames 60] [--rounds 2] [--json FILE]
// Environment: SEPFACE_DATA (default ../shared/data), SEPFACE_DIST (default dist).

import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { argument, photo, root, serve } from './page-server.mjs';

const frames = Number(argument('--frames', '60'));
const rounds = Number(argument('--rounds', '2'));

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function measure(origin, clip, backend) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [
    '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
    '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`, '--use-fake-ui-for-media-stream'] });
  const page = await browser.newPage();
  await page.goto(`${origin}/?backend=${backend}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 600_000 });
  const actual = await page.getAttribute('body', 'data-backend');
  await page.setInputFiles('#enroll-files', photo('George_W_Bush', 7));
  await page.waitForFunction(() => document.querySelectorAll('#enroll-gallery canvas').length > 0, null, { timeout: 600_000 });
  const enrolledMs = await page.evaluate(() => performance.now());
  await page.click('#camera-start');
  await page.waitForSelector('body[data-first-verdict-at]', { timeout: 600_000 });
  // One time per finished frame: the page counts frames in data-frames.
  const times = [];
  let last = null;
  while (times.length < frames) {
    await page.waitForTimeout(5);
    const [frameMs, count] = await page.evaluate(() => [document.body.dataset.frameMs, document.body.dataset.frames]);
    if (count !== last && frameMs !== undefined) { times.push(Number(frameMs)); last = count; }
  }
  const result = {
    backend: actual,
    readyMs: Number(await page.getAttribute('body', 'data-ready-at')),
    enrolledMs,
    cameraStartMs: Number(await page.getAttribute('body', 'data-camera-start-at')),
    firstVerdictMs: Number(await page.getAttribute('body', 'data-first-verdict-at')),
    frameMedianMs: percentile(times, 0.5),
    frameP90Ms: percentile(times, 0.9),
  };
  await browser.close();
  return result;
}

const sizeOf = (file) => statSync(join(root, file)).size;
const gzipOf = (file) => gzipSync(readFileSync(join(root, file)), { level: 9 }).length;

async function main() {
  const clip = join(tmpdir(), `sepface-bench-${process.pid}.y4m`);
  execFileSync('cargo', ['run', '--quiet', '--release', '--example', 'make_y4m', '--', clip, photo('George_W_Bush', 16), photo('George_W_Bush', 65)], { stdio: 'inherit' });
  const { server, origin } = await serve();
  const results = [];
  for (let round = 0; round < rounds; round++) {
    for (const backend of ['cpu', 'webgpu']) results.push({ round, ...(await measure(origin, clip, backend)) });
  }
  server.close();
  const sizes = {
    wasmBytes: sizeOf('sepface_bg.wasm'), wasmGzipBytes: gzipOf('sepface_bg.wasm'),
    detectorBytes: sizeOf('models/detector.bpk'), embedderBytes: sizeOf('models/embedder.bpk'),
  };
  const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version']).toString().trim();
  const report = { date: new Date().toISOString(), chromium: chromiumVersion, frames, sizes, results };
  console.log(JSON.stringify(report, null, 2));
  const out = argument('--json', null);
  if (out) writeFileSync(out, JSON.stringify(report, null, 2));
}

main().catch((error) => { console.error(error); process.exit(1); });
