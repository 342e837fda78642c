// sepface and @vladmandic/face-api side by side in one headless Chromium run: the same LFW
// images, chunk by chunk, alternating between the libraries so machine noise hits both alike.
// Writes one embeddings file per library and backend to the output folder. results.json gets
// the timings, the time to the first result and the download sizes, as served and as gzip -9
// and brotli would send them. `sepface eval embeddings` then scores every embeddings file with
// the same LFW View 2 10-fold protocol.
//
// Usage (from the crate root, after `trunk build --release` and `npm ci` in bench/):
//   node bench/compare.mjs [--runners sepface:cpu,sepface:webgpu,faceapi:wasm,faceapi:webgl]
//                          [--limit N] [--pairs-per-fold N] [--chunk 50] [--out bench/results]
// --pairs-per-fold N keeps the images of the first N pairs (half same, half different) of
// each fold; --limit N then keeps the first N of those images (for latency runs).
// Environment: SEPFACE_DATA (default ../shared/data), SEPFACE_DIST (default dist).

import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const argument = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const here = resolve('bench');
const dist = resolve(process.env.SEPFACE_DIST || 'dist');
const data = resolve(process.env.SEPFACE_DATA || '../shared/data');
const images = join(data, 'lfw', 'lfw-deepfunneled');
const faceapi = join(here, 'node_modules', '@vladmandic', 'face-api');
const out = resolve(argument('--out', 'bench/results'));
const runners = argument('--runners', 'sepface:cpu,sepface:webgpu,faceapi:wasm,faceapi:webgl').split(',').map((r) => { const [library, backend] = r.split(':'); return { library, backend }; });
const limit = Number(argument('--limit', '0'));
const chunk = Number(argument('--chunk', '50'));
const pairsPerFold = Number(argument('--pairs-per-fold', '0'));

const ROUTES = [['/tfjs-wasm/', join(here, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')], ['/compare/', join(here, 'compare')], ['/sepface/', dist], ['/faceapi-model/', join(faceapi, 'model')], ['/faceapi/', join(faceapi, 'dist')], ['/lfw/', images]];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.jpg': 'image/jpeg' };

/**
 * Bytes of library code and models served, by `library:backend`: from the request's own query
 * (the library scripts), else from its Referer (files those scripts fetch).
 */
const served = new Map();
/** The files behind those bytes, by `library:backend`, to size them compressed afterwards. */
const servedFiles = new Map();

function serve() {
  const server = createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    const referer = url.searchParams.has('library') ? url.searchParams : new URLSearchParams(new URL(request.headers.referer || 'http://x/', 'http://x').search);
    const route = ROUTES.find(([prefix]) => path.startsWith(prefix));
    const file = route && join(route[1], path.slice(route[0].length) || 'index.html');
    if (!file || !file.startsWith(route[1]) || !existsSync(file) || !statSync(file).isFile()) { response.writeHead(404).end(); return; }
    const body = readFileSync(file);
    if (!path.startsWith('/lfw/') && !path.startsWith('/compare/')) {
      const key = `${referer.get('library')}:${referer.get('backend')}`;
      served.set(key, (served.get(key) || 0) + body.length);
      servedFiles.set(key, (servedFiles.get(key) || new Set()).add(file));
    }
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Content-Length': body.length });
    response.end(body);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}

/**
 * Lists the distinct images of LFW View 2, as paths relative to the image folder. With
 * `perFold` > 0, only the first `perFold / 2` same-person and `perFold / 2` different-person
 * pairs of each of the 10 folds count, so that a shorter run still scores all 10 folds.
 */
function viewTwoImages(perFold) {
  const lines = readFileSync(join(data, 'lfw', 'pairs.txt'), 'utf8').trim().split('\n');
  const [folds, perKind] = lines[0].trim().split(/\s+/).map(Number);
  const name = (person, number) => `${person}/${person}_${String(number).padStart(4, '0')}.jpg`;
  const set = new Set();
  for (let fold = 0; fold < folds; fold += 1) {
    for (let kind = 0; kind < 2; kind += 1) {
      const first = 1 + (2 * fold + kind) * perKind;
      const count = perFold > 0 ? Math.min(perKind, Math.floor(perFold / 2)) : perKind;
      for (const line of lines.slice(first, first + count)) {
        const f = line.trim().split(/\s+/);
        if (f.length === 3) { set.add(name(f[0], f[1])); set.add(name(f[0], f[2])); }
        if (f.length === 4) { set.add(name(f[0], f[1])); set.add(name(f[2], f[3])); }
      }
    }
  }
  return [...set].sort();
}

const FLAGS = ['--enable-unsafe-webgpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

async function open(runner, origin, firstImage) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  const page = await browser.newPage();
  await page.goto(`${origin}/compare/?library=${runner.library}&backend=${runner.backend}`);
  await page.waitForFunction(() => window.bench !== undefined);
  const startMs = await page.evaluate(() => window.bench.start());
  const first = await page.evaluate((url) => window.bench.run(url), `/lfw/${firstImage}`);
  const firstResultMs = await page.evaluate(() => performance.now());
  return { ...runner, browser, page, downloadBytes: served.get(`${runner.library}:${runner.backend}`) || 0, startMs, firstResultMs, firstMs: first.ms, embeddings: {}, times: [], notFound: 0 };
}

/**
 * Returns a function giving, for one `library:backend`, the bytes its files would take served
 * with gzip -9 and with brotli at quality 11, as a static host would send them.
 */
function compressedSizes() {
  const sizes = new Map();
  const sizeOf = (file) => {
    if (!sizes.has(file)) {
      const body = readFileSync(file);
      const brotli = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
      sizes.set(file, { gzip: gzipSync(body, { level: 9 }).length, brotli: brotli.length });
    }
    return sizes.get(file);
  };
  return (key) => {
    const files = [...(servedFiles.get(key) || [])].map(sizeOf);
    return { downloadGzipBytes: files.reduce((sum, f) => sum + f.gzip, 0), downloadBrotliBytes: files.reduce((sum, f) => sum + f.brotli, 0) };
  };
}

async function main() {
  const list = viewTwoImages(pairsPerFold);
  const selected = limit > 0 ? list.slice(0, limit) : list;
  mkdirSync(out, { recursive: true });
  const { server, origin } = await serve();
  const opened = [];
  for (const runner of runners) {
    opened.push(await open(runner, origin, list[0]));
    const last = opened[opened.length - 1];
    console.log(`${runner.library} on ${runner.backend}: ready in ${(last.startMs / 1000).toFixed(1)} s, first result ${(last.firstResultMs / 1000).toFixed(1)} s after navigation, ${(last.downloadBytes / 1e6).toFixed(2)} MB downloaded`);
  }
  for (let start = 0; start < selected.length; start += chunk) {
    for (const runner of opened) {
      for (const path of selected.slice(start, start + chunk)) {
        const result = await runner.page.evaluate((url) => window.bench.run(url), `/lfw/${path}`);
        runner.embeddings[path] = result.embedding;
        runner.times.push(result.ms);
        if (!result.found) runner.notFound += 1;
      }
    }
    console.log(`${Math.min(start + chunk, selected.length)} of ${selected.length} images`);
  }
  server.close();
  const compressed = compressedSizes();
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const results = [];
  for (const runner of opened) {
    const file = join(out, `${runner.library}-${runner.backend}.json`);
    writeFileSync(file, JSON.stringify(runner.embeddings));
    results.push({ library: runner.library, backend: runner.backend, images: runner.times.length, medianMs: median(runner.times), meanMs: runner.times.reduce((a, b) => a + b, 0) / runner.times.length, notFound: runner.notFound, downloadBytes: runner.downloadBytes, ...compressed(`${runner.library}:${runner.backend}`), startMs: runner.startMs, firstResultMs: runner.firstResultMs, embeddings: file });
    await runner.browser.close();
  }
  const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version']).toString().trim();
  writeFileSync(join(out, 'results.json'), JSON.stringify({ date: new Date().toISOString(), chromium: chromiumVersion, results }, null, 2));
  console.log(JSON.stringify(results, null, 2));
}

main().catch((error) => { console.error(error); process.exit(1); });
