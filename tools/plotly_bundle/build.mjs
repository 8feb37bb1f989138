// plotly.js with only the trace types LayerScope draws, minified into app/vendor/ (`npm ci && npm run build`).
//
// The full plotly.min.js that plotly.py ships is 4.8 MB and takes a visitor's browser about as long to
// evaluate as the rest of the Explorer's first look; the app's mounted charts (app/plotly_view.py) draw
// only scatter, scattergl, bar and heatmap. This is plotly.js's own partial-bundle recipe (its
// tasks/partial_bundle.mjs and esbuild-config.js at the same version): lib/core (scatter, the layout
// components, the modebar, box/lasso select) plus the traces below, the same esbuild plugins and aliases,
// attribute descriptions stripped, wrapped as a UMD that sets window.Plotly. scattergl needs nothing more:
// regl-scatter2d ships its shaders inlined (its bundle.js), and glslify resolves to its browser stub.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

// The trace types of every chart in app/ and pages/ drawn by app/plotly_view.py (scatter is in lib/core).
export const TRACES = ['scattergl', 'bar', 'heatmap'];

const here = dirname(fileURLToPath(import.meta.url));
const plotlyDir = dirname(require.resolve('plotly.js/package.json'));
const version = JSON.parse(readFileSync(join(plotlyDir, 'package.json'), 'utf8')).version;
const vendor = resolve(here, '../../app/vendor');
const outfile = join(vendor, `plotly-${version}-layerscope.min.js`);

// lib/index-*.js of plotly.js, for our traces: core, then register them.
const index = [
  "'use strict';",
  "var Plotly = require('plotly.js/lib/core');",
  `Plotly.register([${TRACES.map((t) => `require('plotly.js/lib/${t}')`).join(', ')}]);`,
  'module.exports = Plotly;',
].join('\n');

// plotly.js's tasks/compress_attributes.js: the attributes' descriptions (for its schema and docs, never
// read when drawing) out of the bundle. A value is stripped only where it is whole string literals (one,
// or an array of them joined) ending the property, so that no expression is cut in two.
const STRING = `'(?:[^'\\\\\\n]|\\\\.)*'|"(?:[^"\\\\\\n]|\\\\.)*"`;
const STRINGS = `\\[(?:\\s*(?:${STRING})\\s*,?)*\\s*\\]`;
const JOINED = `${STRINGS}\\s*\\.join\\(\\s*(?:${STRING})\\s*\\)`;
const property = (name, value) => new RegExp(`\\s*\\b${name}: (?:${value}),?(?=\\s*[\\n}])`, 'g');
const STRIPPED = [property('description', `${JOINED}|${STRING}`), property('hrName', STRING),
                  property('requiredOpts', STRINGS), property('otherOpts', STRINGS)];
const compressAttributes = {
  name: 'compress-attributes',
  setup(b) {
    b.onLoad({ filter: /[\\/]plotly\.js[\\/]src[\\/].*\.js$/ }, (args) => ({
      loader: 'js',
      contents: STRIPPED.reduce((code, pattern) => code.replace(pattern, ''), readFileSync(args.path, 'utf8')),
    }));
  },
};

// plotly.js's registry requires maplibre-gl's stylesheet (83 kB) when a map trace registers; none of ours is
// one, so the stylesheet is left out.
const noMapStyles = {
  name: 'no-map-styles',
  setup(b) {
    b.onResolve({ filter: /^maplibre-gl\/dist\/maplibre-gl\.css$/ }, () => ({ path: 'maplibre-gl-styles', namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: '', loader: 'js' }));
  },
};

const header = `/**
* plotly.js (layerscope: scatter, ${TRACES.join(', ')} - minified) v${version}
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
* Built by LayerScope's tools/plotly_bundle/build.mjs from the npm package plotly.js@${version}.
*/`;

mkdirSync(vendor, { recursive: true });
// an older version's bundle goes: app/plotly_view.py serves the one named by plotly.py's plotly.js
for (const name of readdirSync(vendor)) {
  if (/^plotly-.*-layerscope\.min\.js$/.test(name) && join(vendor, name) !== outfile) unlinkSync(join(vendor, name));
}

await build({
  stdin: { contents: index, resolveDir: here, sourcefile: 'layerscope-index.js', loader: 'js' },
  outfile,
  format: 'iife',
  globalName: 'Plotly',
  bundle: true,
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false }), compressAttributes,
            noMapStyles],
  alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
  define: { global: 'window', 'define.amd': 'false' },
  target: 'es2016',
  // the UMD wrapper of plotly.js's tasks/util/bundle_wrapper.mjs
  banner: { js: `${header}\n(\n function(root, factory) {\n  if (typeof module === "object" && module.exports) {\n   module.exports = factory();\n  } else {\n   root.moduleName = factory();\n  }\n} (typeof self !== "undefined" ? self : this, () => {` },
  footer: { js: '\nwindow.Plotly = Plotly;\nreturn Plotly;\n}));' },
  logLevel: 'info',
});

const built = readFileSync(outfile);
const sha = createHash('sha256').update(built).digest('hex').slice(0, 12);
console.log(`${outfile}: ${(built.length / 1e6).toFixed(2)} MB, sha256 ${sha}`);
