// Runs live verification of the sepface page for many frames in headless Chromium, with the
// fake camera playing photos of one person. Every --every frames it samples the wasm linear
// memory, the bytes in use in the wasm heap, the JS heap after a forced garbage collection (Chrome
// DevTools Protocol), on WebGPU the GPU memory burn's allocator holds, and the frame latency.
// Wasm memory only grows, so a leak shows there as steps, while the heap count shows any
// leak at once. Memory is flat when the last samples equal the first ones after warm-up.
//
// Usage (from the crate root, after `trunk build --release`):
//   node bench/long-run.mjs [--frames 10000] [--every 500] [--backend cpu|webgpu] [--json FILE]
// Environment: SEPFACE_DATA (default ../shared/data), SEPFACE_DIST (default dist).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { argument, photo, root, serve } from './page-server.mjs';

const frames = Number(argument('--frames', '10000'));
const every = Number(argument('--every', '500'));
const backend = argument('--backend', 'cpu');
const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version']).toString().trim();

/** Takes one memory sample: frames so far, wasm memory, JS heap after garbage collection. */
async function sample(page, session, started) {
  await session.send('HeapProfiler.collectGarbage');
  const { metrics } = await session.send('Performance.getMetrics');
  const metric = (name) => metrics.find((m) => m.name === name)?.value ?? null;
  const body = await page.evaluate(() => ({ ...document.body.dataset }));
  return {
    frames: Number(body.frames || 0),
    seconds: Math.round((Date.now() - started) / 1000),
    wasmBytes: Number(body.wasmBytes || 0),
    // Bytes in use in the wasm heap after the last frame. Unlike wasmBytes, it falls with every free.
    heapBytes: body.heapBytes === undefined ? null : Number(body.heapBytes),
    // burn's allocator on the GPU (WebGPU only), read by the page every 10 frames.
    gpuAllocations: body.gpuAllocations === undefined ? null : Number(body.gpuAllocations),
    gpuBytesInUse: body.gpuBytesInUse === undefined ? null : Number(body.gpuBytesInUse),
    gpuBytesReserved: body.gpuBytesReserved === undefined ? null : Number(body.gpuBytesReserved),
    jsHeapUsedBytes: metric('JSHeapUsedSize'),
    domNodes: metric('Nodes'),
    frameMs: Number(body.frameMs || 0),
    verdict: await page.getAttribute('#verdict', 'data-state'),
  };
}

/** Writes the samples so far to the --json file, when one is given. */
function write(samples, backendInUse) {
  const out = argument('--json', null);
  if (!out) return;
  const report = { date: new Date().toISOString(), chromium: chromiumVersion, backend: backendInUse, frames, every, samples };
  writeFileSync(out, JSON.stringify(report, null, 2));
}

async function main() {
  const clip = join(tmpdir(), `sepface-long-${process.pid}.y4m`);
  execFileSync('cargo', ['run', '--quiet', '--release', '--example', 'make_y4m', '--', clip, photo('George_W_Bush', 16), photo('George_W_Bush', 65)], { stdio: 'inherit' });
  const { server, origin } = await serve();

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [
    '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
    '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`, '--use-fake-ui-for-media-stream'] });
  const page = await browser.newPage();
  const session = await page.context().newCDPSession(page);
  await session.send('Performance.enable');
  await page.goto(`${origin}/?backend=${backend}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 600_000 });
  await page.setInputFiles('#enroll-files', photo('George_W_Bush', 7));
  await page.waitForFunction(() => document.querySelectorAll('#enroll-gallery canvas').length > 0, null, { timeout: 600_000 });

  const started = Date.now();
  await page.click('#camera-start');
  const samples = [];
  for (let next = every; next <= frames; next += every) {
    await page.waitForFunction((n) => Number(document.body.dataset.frames || 0) >= n, next, { timeout: 0, polling: 250 });
    samples.push(await sample(page, session, started));
    const last = samples[samples.length - 1];
    const gpu = last.gpuBytesReserved === null ? '' : `, GPU ${(last.gpuBytesInUse / 1e6).toFixed(2)} MB in use of ${(last.gpuBytesReserved / 1e6).toFixed(2)} MB reserved (${last.gpuAllocations} buffers)`;
    console.log(`${last.frames} frames, ${last.seconds} s: wasm ${(last.wasmBytes / 1e6).toFixed(1)} MB, wasm heap in use ${last.heapBytes} bytes, JS heap ${(last.jsHeapUsedBytes / 1e6).toFixed(2)} MB${gpu}, ${last.frameMs} ms/frame, ${last.verdict}`);
    // Rewritten after every sample, so that a run stopped early keeps the samples taken so far.
    write(samples, await page.getAttribute('body', 'data-backend'));
  }

  await browser.close();
  server.close();
  const [first, last] = [samples[0], samples[samples.length - 1]];
  const gpu = last.gpuBytesReserved === null ? '' : `; GPU reserved ${first.gpuBytesReserved} -> ${last.gpuBytesReserved} bytes, in use ${first.gpuBytesInUse} -> ${last.gpuBytesInUse}`;
  console.log(`wasm memory ${first.wasmBytes} -> ${last.wasmBytes} bytes; wasm heap in use ${first.heapBytes} -> ${last.heapBytes} bytes; JS heap ${first.jsHeapUsedBytes} -> ${last.jsHeapUsedBytes} bytes${gpu}`);
}

main().catch((error) => { console.error(error); process.exit(1); });
