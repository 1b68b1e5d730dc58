// Render BPMN files with bpmn-js in Debian's headless Chromium, take a screenshot of each, and
// report as JSON on stdout: import warnings and errors, page errors, and for every shape its box on
// the screenshot with the colours found inside it (so a test can check what a person would see).
//
//   node render-check.mjs --out DIR FILE.bpmn [FILE.bpmn ...]
//
// The browser is /usr/bin/chromium (Debian's package; CHROMIUM=path overrides), never a
// downloaded one. Nothing is fetched from the network: bpmn-js comes from node_modules.
// Exit code 0 when every file was rendered, 1 when a file failed to import.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

const require = createRequire(import.meta.url);
const BPMN_JS = require.resolve('bpmn-js/dist/bpmn-viewer.production.min.js');
const CSS = ['diagram-js.css', 'bpmn-js.css'].map((f) => join(BPMN_JS, '..', 'assets', f));
const MARGIN = 40;
const MAX_SIDE = 8000; // larger diagrams are scaled down to fit

function parseArgs(argv) {
  const files = [];
  let out = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else files.push(argv[i]);
  }
  if (!out || files.length === 0) {
    console.error('usage: node render-check.mjs --out DIR FILE.bpmn [FILE.bpmn ...]');
    process.exit(2);
  }
  return { out, files };
}

function hex(r, g, b) {
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('').toUpperCase();
}

// Colour histogram of the inside of a box (inset so the border and the hit area stay out).
function colours(png, box) {
  const counts = new Map();
  const inset = 6;
  const x0 = Math.max(0, Math.floor(box.x + inset));
  const y0 = Math.max(0, Math.floor(box.y + inset));
  const x1 = Math.min(png.width, Math.ceil(box.x + box.width - inset));
  const y1 = Math.min(png.height, Math.ceil(box.y + box.height - inset));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (png.width * y + x) << 2;
      const key = hex(png.data[i], png.data[i + 1], png.data[i + 2]);
      counts.set(key, (counts.get(key) || 0) + 1);
    }
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 4)
    .map(([colour, n]) => ({ colour, share: total ? n / total : 0 }));
}

async function render(browser, file, out) {
  const xml = await readFile(file, 'utf8');
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 }, deviceScaleFactor: 1 });
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.setContent('<!doctype html><html><body style="margin:0"><div id="canvas" style="width:100vw;height:100vh"></div></body></html>');
  for (const css of CSS) await page.addStyleTag({ path: css });
  await page.addScriptTag({ path: BPMN_JS });
  const imported = await page.evaluate(async (text) => {
    window.viewer = new window.BpmnJS({ container: '#canvas' });
    try {
      const { warnings } = await window.viewer.importXML(text);
      const inner = window.viewer.get('canvas').viewbox().inner;
      return { warnings: warnings.map((w) => String(w.message || w)), error: null, inner };
    } catch (error) {
      return { warnings: (error.warnings || []).map((w) => String(w.message || w)), error: String(error.message || error), inner: null };
    }
  }, xml);
  const result = { file, warnings: imported.warnings, error: imported.error, pageErrors, png: null, scale: null, shapes: {} };
  if (imported.error) {
    await page.close();
    return result;
  }
  const inner = imported.inner;
  const scale = Math.min(1, MAX_SIDE / (inner.width + 2 * MARGIN), MAX_SIDE / (inner.height + 2 * MARGIN));
  const width = Math.ceil((inner.width + 2 * MARGIN) * scale);
  const height = Math.ceil((inner.height + 2 * MARGIN) * scale);
  await page.setViewportSize({ width, height });
  const shapes = await page.evaluate(
    ({ inner, margin, scale }) => {
      const canvas = window.viewer.get('canvas');
      canvas.resized();
      canvas.viewbox({ x: inner.x - margin, y: inner.y - margin, width: inner.width + 2 * margin, height: inner.height + 2 * margin });
      const vb = canvas.viewbox();
      const boxes = {};
      for (const element of window.viewer.get('elementRegistry').getAll()) {
        if (element.waypoints || element.type === 'label' || !element.businessObject || element.parent == null) continue;
        boxes[element.id] = {
          type: element.type,
          name: element.businessObject.name || null,
          x: (element.x - vb.x) * vb.scale,
          y: (element.y - vb.y) * vb.scale,
          width: element.width * vb.scale,
          height: element.height * vb.scale,
        };
      }
      return boxes;
    },
    { inner, margin: MARGIN, scale },
  );
  const png = join(out, basename(file).replace(/\.bpmn$/, '') + '.png');
  const buffer = await page.screenshot({ path: png, fullPage: false });
  const image = PNG.sync.read(buffer);
  for (const [id, box] of Object.entries(shapes)) {
    box.colours = colours(image, box);
    result.shapes[id] = box;
  }
  result.png = png;
  result.scale = scale;
  await page.close();
  return result;
}

const { out, files } = parseArgs(process.argv.slice(2));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const results = [];
try {
  for (const file of files) results.push(await render(browser, file, out));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results, null, 1) + '\n');
// exitCode, not exit(): exit() would cut off stdout that a pipe has not taken yet.
process.exitCode = results.some((r) => r.error) ? 1 : 0;
