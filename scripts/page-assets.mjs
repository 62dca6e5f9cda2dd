// Lays out the built lesson page for the backend to serve, the way `trunk build` would,
// without trunk: content-hashed file names (so a browser may cache them for good), an
// index.html that loads them, and a brotli and a gzip copy of every file next to it (the
// server sends those to browsers that accept them).
//
//   node scripts/page-assets.mjs BINDGEN_DIR OUT_DIR
//
// BINDGEN_DIR holds wasm-bindgen's output (bluetick-frontend.js, bluetick-frontend_bg.wasm,
// already through wasm-opt). The template is frontend/index.html, whose `data-trunk` links
// are what `trunk serve` reads when authoring; they are replaced here.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const [bindgenDir, outDir] = process.argv.slice(2);
if (!bindgenDir || !outDir) {
  console.error('usage: node scripts/page-assets.mjs BINDGEN_DIR OUT_DIR');
  process.exit(2);
}

const hash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
const files = new Map(); // name in OUT_DIR → bytes

const css = readFileSync('style/main.css');
const cssName = `main-${hash(css)}.css`;
files.set(cssName, css);

const wasm = readFileSync(join(bindgenDir, 'bluetick-frontend_bg.wasm'));
const wasmName = `bluetick-frontend-${hash(wasm)}_bg.wasm`;
files.set(wasmName, wasm);

// The glue finds its wasm through the path init() is given, so renaming it is safe.
const js = readFileSync(join(bindgenDir, 'bluetick-frontend.js'));
const jsName = `bluetick-frontend-${hash(Buffer.concat([js, wasm]))}.js`;
files.set(jsName, js);

const template = readFileSync('frontend/index.html', 'utf8');
const trunkLinks = /[ \t]*<link data-trunk[^>]*>\n?/g;
if ((template.match(trunkLinks) || []).length !== 2) {
  console.error('page-assets: frontend/index.html should have exactly two data-trunk links (css, rust)');
  process.exit(1);
}
const head = [
  `<link rel="stylesheet" href="/${cssName}" />`,
  `<link rel="modulepreload" href="/${jsName}" />`,
  `<link rel="preload" href="/${wasmName}" as="fetch" type="application/wasm" crossorigin="anonymous" />`,
  `<script type="module">import init from '/${jsName}'; await init({ module_or_path: '/${wasmName}' });</script>`,
].map((line) => `    ${line}\n`).join('');
const html = template.replace(trunkLinks, '').replace('  </head>', `${head}  </head>`);
files.set('index.html', Buffer.from(html));

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
let raw = 0;
let br = 0;
for (const [name, bytes] of files) {
  const brotli = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
  writeFileSync(join(outDir, name), bytes);
  writeFileSync(join(outDir, `${name}.br`), brotli);
  writeFileSync(join(outDir, `${name}.gz`), gzipSync(bytes, { level: 9 }));
  raw += bytes.length;
  br += brotli.length;
}
// Inline JS of any dependency (`#[wasm_bindgen(inline_js)]`) sits beside the glue, which
// imports it by a relative path.
if (existsSync(join(bindgenDir, 'snippets'))) {
  cpSync(join(bindgenDir, 'snippets'), join(outDir, 'snippets'), { recursive: true });
}
const wasmBr = readFileSync(join(outDir, `${wasmName}.br`)).length;
console.log(
  `page-assets: ${readdirSync(outDir).length} files in ${outDir}; the page is ${raw} B, ` +
    `${br} B with brotli (wasm ${wasm.length} B → ${wasmBr} B)`,
);
