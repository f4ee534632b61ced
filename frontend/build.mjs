// Front-end build: bundles KERN UX + BPMN/DMN modeler entries into ../app/static/dist/.
// Usage: node build.mjs [--watch] [--clean] [--dev]
import * as esbuild from 'esbuild';
import { rm, mkdir, copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, '../app/static/dist');
const args = new Set(process.argv.slice(2));
const watch = args.has('--watch');
const dev = args.has('--dev') || watch;

await rm(outdir, { recursive: true, force: true });
if (args.has('--clean')) {
  console.log('removed ' + outdir);
  process.exit(0);
}
await mkdir(outdir, { recursive: true });

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: here,
  entryPoints: {
    kern: 'src/kern.css',
    app: 'src/app.css',
    modeler: 'src/modeler.js', // + modeler.css (CSS imported by the entry)
    viewer: 'src/viewer.js',   // + viewer.css
    dmn: 'src/dmn.js',         // + dmn.css
    page: 'src/page.js'        // progressive enhancement for every page
  },
  outdir,
  bundle: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: !dev,
  sourcemap: 'linked',
  legalComments: 'linked',
  charset: 'utf8',
  // fonts referenced from CSS (Fira Sans, bpmn/dmn icon fonts) -> dist/assets/
  loader: {
    '.woff2': 'file',
    '.woff': 'file',
    '.ttf': 'file',
    '.eot': 'file',
    '.svg': 'file'
  },
  assetNames: 'assets/[name]-[hash]',
  define: {
    'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production')
  },
  logLevel: 'warning',
  metafile: true
};

// Swagger UI for /api/docs, served by the app itself (no CDN: administration networks may not
// reach one). flask-smorest's page loads these three files from OPENAPI_SWAGGER_UI_URL.
async function copySwaggerUi() {
  const from = path.resolve(here, 'node_modules/swagger-ui-dist');
  const to = path.join(outdir, 'swagger-ui');
  await mkdir(to, { recursive: true });
  for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'LICENSE']) {
    await copyFile(path.join(from, file), path.join(to, file));
  }
}

function report(metafile) {
  const rows = Object.entries(metafile.outputs)
    .filter(([file]) => !file.endsWith('.map'))
    .map(([file, info]) => [path.relative(outdir, path.resolve(here, file)), info.bytes])
    .sort((a, b) => a[0].localeCompare(b[0]));
  for (const [file, bytes] of rows) {
    console.log('  ' + file.padEnd(44) + (bytes / 1024).toFixed(1).padStart(9) + ' KiB');
  }
}

const started = Date.now();
await copySwaggerUi();
if (watch) {
  const ctx = await esbuild.context({
    ...options,
    plugins: [{
      name: 'report',
      setup(build) {
        build.onEnd((result) => {
          if (!result.errors.length) console.log('[watch] rebuilt ' + new Date().toLocaleTimeString());
        });
      }
    }]
  });
  await ctx.watch();
  console.log('watching src/ -> ' + outdir);
} else {
  const result = await esbuild.build(options);
  console.log('built ' + outdir + ' in ' + (Date.now() - started) + ' ms');
  report(result.metafile);
}
