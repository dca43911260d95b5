// Prints the minified + gzipped size of the browser build, bundled the way an app's bundler would
// (platform browser, rxjs external: the app has it anyway). `--json` prints a machine-readable line.
const { buildSync } = require('esbuild');
const { gzipSync } = require('node:zlib');
const path = require('node:path');

/** How an app's bundler builds rxwire for a browser (scripts/bundle-analysis.js builds the same way). */
const BUILD_OPTIONS = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  external: ['rxjs'],
  write: false,
  metafile: true,
  logLevel: 'silent',
};

/** Bundles `entry` (default: the browser barrel's source) and returns its sizes in bytes. */
function measure(entry = path.join(__dirname, '..', 'lib', 'browser.ts')) {
  const result = buildSync({ ...BUILD_OPTIONS, entryPoints: [entry] });
  const code = result.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, inputs: Object.keys(result.metafile.inputs) };
}

module.exports = { measure, BUILD_OPTIONS };

if (require.main === module) {
  const entry = process.argv.slice(2).find((a) => !a.startsWith('--'));
  const { minified, gzipped } = measure(entry && path.resolve(entry));
  if (process.argv.includes('--json')) console.log(JSON.stringify({ minified, gzipped }));
  else console.log(`browser bundle (rxjs external): ${(minified / 1000).toFixed(2)} kB minified, ${(gzipped / 1000).toFixed(2)} kB gzipped`);
}
