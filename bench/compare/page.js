// Benchmark page: loads one library (sepface or face-api.js) on one backend, then embeds the
// images the driver (bench/compare.mjs) asks for, timing only the library's detect + describe
// call. Both libraries receive the same decoded pixels.

// The library scripts are imported with this page's query too. Their requests carry the page
// script as Referer, so the driver reads the run they belong to from their own URL.
const params = new URLSearchParams(location.search);
const library = params.get('library');
const backend = params.get('backend');
const canvas = document.createElement('canvas');
const context = canvas.getContext('2d', { willReadFrequently: true });

async function decode(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob());
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
}

async function startSepface() {
  const { default: init, App } = await import(`/sepface/sepface.js${location.search}`);
  await init();
  const [detector, embedder] = await Promise.all(['detector', 'embedder'].map(async (name) => new Uint8Array(await (await fetch(`/sepface/models/${name}.bpk`)).arrayBuffer())));
  const app = await App.create(detector, embedder, backend);
  if (app.backend() !== backend) throw new Error(`sepface runs on ${app.backend()}, not ${backend}: ${app.backendReason()}`);
  return async () => {
    const pixels = new Uint8Array(context.getImageData(0, 0, canvas.width, canvas.height).data.buffer);
    const result = await app.embedFrame(pixels, canvas.width, canvas.height);
    return { embedding: Array.from(result.embedding), found: (result.detection.presence ?? 1) >= 0.5 };
  };
}

async function startFaceapi() {
  const faceapi = await import(`/faceapi/face-api.esm.js${location.search}`);
  if (backend === 'wasm') faceapi.tf.setWasmPaths('/tfjs-wasm/');
  await faceapi.tf.setBackend(backend);
  await faceapi.tf.ready();
  if (faceapi.tf.getBackend() !== backend) throw new Error(`face-api.js runs on ${faceapi.tf.getBackend()}, not ${backend}`);
  await faceapi.nets.ssdMobilenetv1.loadFromUri('/faceapi-model');
  await faceapi.nets.faceLandmark68Net.loadFromUri('/faceapi-model');
  await faceapi.nets.faceRecognitionNet.loadFromUri('/faceapi-model');
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  return async () => {
    const face = await faceapi.detectSingleFace(canvas, options).withFaceLandmarks().withFaceDescriptor();
    if (face) return { embedding: Array.from(face.descriptor), found: true };
    // No face found: describe the whole image, so every pair still gets a distance.
    const descriptor = await faceapi.computeFaceDescriptor(canvas);
    return { embedding: Array.from(descriptor), found: false };
  };
}

window.bench = {
  async start() {
    const began = performance.now();
    window.bench.embed = library === 'sepface' ? await startSepface() : await startFaceapi();
    return performance.now() - began;
  },
  async run(url) {
    await decode(url);
    const began = performance.now();
    const result = await window.bench.embed();
    return { ...result, ms: performance.now() - began };
  },
};
document.getElementById('status').textContent = 'ready';
