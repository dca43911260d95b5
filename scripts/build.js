// Builds dist/cjs (Node: both `import` and `require` resolve here, one class identity) and
// dist/esm (bundlers and browsers). Each folder gets a package.json that fixes its module type.
const { execFileSync } = require('node:child_process');
const { rmSync, writeFileSync } = require('node:fs');
const tsc = require.resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const [project, type] of [['tsconfig.build.json', 'commonjs'], ['tsconfig.esm.json', 'module']]) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  const dir = type === 'module' ? 'dist/esm' : 'dist/cjs';
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type }) + '\n');
}
