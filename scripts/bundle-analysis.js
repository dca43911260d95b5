// Where the bytes of the browser build go (issue 13). For each module of the bundle: its minified
// bytes (esbuild's metafile `bytesInOutput`), and the gzipped bytes saved when it is replaced by an
// empty stub, which also drops whatever only it reaches. Minified bytes overstate what gzip
// charges for repetitive code and understate it for prose, so the stub figure is the one to quote.
//
//   node scripts/bundle-analysis.js                      the barrel, lib/browser.ts
//   node scripts/bundle-analysis.js --connect            `export { connect } from './lib/browser.ts'`
//   node scripts/bundle-analysis.js --stub a.ts,b.ts     also the saving of stubbing these together
//
// A stub keeps the module's named exports (as `{}`, empty classes and functions) so the bundle
// still links; the result need not run. Paths are relative to the repository root.
const { build } = require('esbuild');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { gzipSync } = require('node:zlib');
const { BUILD_OPTIONS } = require('./bundle-size.js');

const root = path.join(__dirname, '..');

/** Feature groups measured together: each module's own stub saving misses what the group shares. */
const GROUPS = {
  sessions: [
    'lib/client/resume.ts',
    'lib/core/resumable.ts',
    'lib/core/retention.ts',
    'lib/core/receipt.ts',
    'lib/core/session-frames.ts',
    'lib/core/session-errors.ts',
    'lib/core/session-options.ts',
  ],
  validation: ['lib/client/validate-options.ts', 'lib/core/validate.ts'],
  'iterate, channel, request': ['lib/core/iterate.ts', 'lib/core/channel.ts', 'lib/core/request.ts'],
};

const EXPORT = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(class|function|const|let)\s+([A-Za-z_$][\w$]*)/gm;
const REEXPORT = /^export\s+\{([^}]*)\}\s+from\s+'([^']+)'/gm;

/** The source of an empty stand-in for the module at `file`, with the same value exports. */
function stubOf(file) {
  const source = readFileSync(file, 'utf8');
  const lines = [];
  for (const [, kind, name] of source.matchAll(EXPORT)) {
    lines.push(kind === 'class' ? `export class ${name} {}` : kind === 'function' ? `export function ${name}() {}` : `export const ${name} = {};`);
  }
  for (const [, names, from] of source.matchAll(REEXPORT)) {
    const values = names.split(',').map((n) => n.trim()).filter((n) => n && !n.startsWith('type '));
    if (values.length > 0) lines.push(`export { ${values.join(', ')} } from '${from}';`);
  }
  return lines.join('\n');
}

/** Bundles `entry` (a file, or `{ contents }` for an inline entry) with the modules in `stubs` stubbed. */
async function measure(entry, stubs = []) {
  const stubbed = new Set(stubs.map((file) => path.resolve(root, file)));
  const plugin = {
    name: 'stub',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => (stubbed.has(args.path) ? { contents: stubOf(args.path), loader: 'ts' } : undefined));
    },
  };
  const where = typeof entry === 'string' ? { entryPoints: [path.resolve(root, entry)] } : { stdin: { ...entry, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' } };
  const result = await build({ ...BUILD_OPTIONS, ...where, absWorkingDir: root, plugins: [plugin] });
  const code = result.outputFiles[0].contents;
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, inputs };
}

async function main() {
  const args = process.argv.slice(2);
  const entry = args.includes('--connect') ? { contents: "export { connect } from './lib/browser.ts';" } : 'lib/browser.ts';
  const groups = { ...GROUPS };
  args.forEach((arg, i) => {
    if (arg === '--stub') groups[args[i + 1]] = args[i + 1].split(',');
  });
  const base = await measure(entry);
  console.log(`${entry.contents ?? entry}: ${base.minified} B minified, ${base.gzipped} B gzipped\n`);
  console.log('   min B  gz saved  module (stubbed alone)');
  const modules = Object.entries(base.inputs)
    .filter(([file, { bytesInOutput }]) => bytesInOutput > 0 && file.startsWith('lib/'))
    .sort(([, a], [, b]) => b.bytesInOutput - a.bytesInOutput);
  for (const [file, { bytesInOutput }] of modules) {
    const { gzipped } = await measure(entry, [file]);
    console.log(`${String(bytesInOutput).padStart(8)}  ${String(base.gzipped - gzipped).padStart(8)}  ${file}`);
  }
  const others = Object.entries(base.inputs).filter(([file, { bytesInOutput }]) => bytesInOutput > 0 && !file.startsWith('lib/'));
  for (const [file, { bytesInOutput }] of others) console.log(`${String(bytesInOutput).padStart(8)}         -  ${file}`);
  console.log('\n gz saved  group (stubbed together)');
  for (const [name, files] of Object.entries(groups)) {
    const { gzipped } = await measure(entry, files);
    console.log(`${String(base.gzipped - gzipped).padStart(9)}  ${name}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
