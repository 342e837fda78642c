// Times the four networks of de Souza, "Face Verification with Depthwise Separable Convolutions
// and the Triplet Loss" (its Tables 1, 2, 4 and 5), and the two web networks in headless
// Chromium, on the CPU fallback (wasm SIMD, one thread) and on WebGPU. It is the browser
// counterpart of `cargo bench --bench speed`. Each network runs in a fresh browser, at random
// weights, on one fixed random batch (32 images for detectors, 16 for embedders, as in the
// paper's Tables 3 and 6): one warm-up run, then --runs timed runs, each ending when the
// output has been read back.
//
// Usage (from the crate root, after `trunk build --release`):
//   node bench/networks.mjs [--backends cpu,webgpu] [--batches 32,16] [--runs 3]
//                           [--timeout-s 900] [--json FILE]
// --batches sets the detector and embedder batch sizes (smaller ones keep a software WebGPU
// adapter within the time limit). A network that gives no result within --timeout-s seconds
// is reported as timed out. The JSON file is rewritten after every network.
// Environment: SEPFACE_DIST (default dist).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { argument, serve } from './page-server.mjs';

const backends = argument('--backends', 'cpu,webgpu').split(',');
const [detectorBatch, embedderBatch] = argument('--batches', '32,16').split(',').map(Number);
const runs = Number(argument('--runs', '3'));
const timeoutS = Number(argument('--timeout-s', '900'));
const NETWORKS = [
  ['detector paper_regular', detectorBatch], ['detector paper_separable', detectorBatch], ['detector web', detectorBatch],
  ['embedder paper_regular', embedderBatch], ['embedder paper_separable', embedderBatch], ['embedder web', embedderBatch],
];
const FLAGS = ['--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/** Runs in the page: builds the network, warms it up and times `runs` runs. */
async function timeInPage([name, backend, batch, runs]) {
  const { default: init, NetworkBench } = await import('/sepface.js');
  await init();
  const bench = await NetworkBench.create(name, backend, batch);
  let began = performance.now();
  await bench.run();
  const warmupMs = performance.now() - began;
  const ms = [];
  for (let i = 0; i < runs; i += 1) {
    began = performance.now();
    await bench.run();
    ms.push(performance.now() - began);
  }
  return { warmupMs, ms, macs: bench.macs(), params: bench.params() };
}

/** Times one network on one backend in a fresh browser; failures become an `error` field. */
async function measure(origin, name, batch, backend) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  const row = { network: name, backend, batch };
  let timer;
  try {
    const page = await browser.newPage();
    // An empty page of the same origin, so the page can import the built module.
    await page.route(`${origin}/bench`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>sepface networks</title>' }));
    await page.goto(`${origin}/bench`);
    const limit = new Promise((_, fail) => { timer = setTimeout(() => fail(new Error(`timed out after ${timeoutS} s: raise --timeout-s or use smaller --batches`)), timeoutS * 1000); });
    const result = await Promise.race([page.evaluate(timeInPage, [name, backend, batch, runs]), limit]);
    const sorted = [...result.ms].sort((a, b) => a - b);
    return { ...row, ...result, medianMs: sorted[Math.floor(sorted.length / 2)] };
  } catch (error) {
    return { ...row, error: error.message.split('\n')[0] };
  } finally {
    clearTimeout(timer);
    await browser.close();
  }
}

/** Prints the results as Markdown tables: time per batch, then the separable/regular ratios. */
function print(results) {
  console.log('| network | backend | batch | warm-up ms | median ms per batch | images/s | GMAC/s |\n|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.error) {
      console.log(`| ${r.network} | ${r.backend} | ${r.batch} | failed: ${r.error} | | | |`);
      continue;
    }
    const perSecond = r.batch / (r.medianMs / 1000);
    console.log(`| ${r.network} | ${r.backend} | ${r.batch} | ${r.warmupMs.toFixed(0)} | ${r.medianMs.toFixed(1)} | ${perSecond.toFixed(1)} | ${(perSecond * r.macs / 1e9).toFixed(1)} |`);
  }
  console.log('\n| pair | backend | separable vs regular speed-up | MAC ratio |\n|---|---|---|---|');
  for (const backend of backends) {
    for (const kind of ['detector', 'embedder']) {
      const find = (variant) => results.find((r) => r.backend === backend && r.network === `${kind} ${variant}` && !r.error);
      const [regular, separable] = [find('paper_regular'), find('paper_separable')];
      if (regular && separable) console.log(`| ${kind} | ${backend} | ${(regular.medianMs / separable.medianMs).toFixed(2)}x | ${(regular.macs / separable.macs).toFixed(2)}x |`);
    }
  }
}

async function main() {
  const { server, origin } = await serve();
  const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version']).toString().trim();
  const report = { date: new Date().toISOString(), chromium: chromiumVersion, runs, results: [] };
  const out = argument('--json', null);
  for (const backend of backends) {
    for (const [name, batch] of NETWORKS) {
      const result = await measure(origin, name, batch, backend);
      console.error(`${backend} ${name}: ${result.error ?? `${result.medianMs.toFixed(1)} ms per batch of ${batch}`}`);
      report.results.push(result);
      if (out) writeFileSync(out, JSON.stringify(report, null, 2));
    }
  }
  server.close();
  print(report.results);
}

main().catch((error) => { console.error(error); process.exit(1); });
