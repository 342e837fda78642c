// Helpers shared by the page benchmarks: a static server for the built page on 127.0.0.1,
// and the path of an LFW photo.

import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';

/** The built page (`trunk build --release` output), from $SEPFACE_DIST or `dist`. */
export const root = resolve(process.env.SEPFACE_DIST || 'dist');
const data = resolve(process.env.SEPFACE_DATA || '../shared/data');
const lfw = join(data, 'lfw', 'lfw-deepfunneled');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** Returns the path of LFW photo `number` of `name`, such as George_W_Bush_0007.jpg. */
export const photo = (name, number) => join(lfw, name, `${name}_${String(number).padStart(4, '0')}.jpg`);

/** Returns the value after `name` on the command line, or `fallback`. */
export const argument = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };

/** Serves `root` on a free port of 127.0.0.1; resolves to `{ server, origin }`. */
export function serve() {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) { response.writeHead(404).end(); return; }
    const body = readFileSync(file);
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Content-Length': body.length });
    response.end(body);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}
