// Type-checks every ```ts block of every `@example` in lib/**/*.ts, and of README.md, so that the
// docs cannot rot. Each example becomes a module in a temporary directory, compiled in one `tsc`
// program with 'rxwire' and 'rxwire/testing' mapped to lib/ (tsconfig `paths`). Examples stay
// short: the script prepends a prelude with what an example uses and neither declares nor imports
// itself:
//   - the placeholders in PRELUDE (`socket`, `server`, `proxy`...), by the example's folder;
//   - imports of anything exported by 'rxwire', 'rxwire/testing', the example's own module
//     (internal helpers are documented too), 'rxjs', 'ws' and 'node:net'.
// Errors are reported at the example's line in lib/ or README.md. It also lists the public exports
// (of 'rxwire' and 'rxwire/testing') whose TSDoc has no @example; with --require-examples they
// fail the check. spec/examples/readme.spec.ts uses the same functions (exported below).
// Usage: node scripts/check-examples.js [--require-examples] [--keep (the temporary directory)]
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.join(__dirname, '..');
const lib = path.join(root, 'lib');

/**
 * Placeholders examples may use, by path prefix: an example gets the entries of every prefix of its
 * file, a longer prefix overriding a shorter one.
 */
const PRELUDE = {
  'lib/': {
    types: [
      "import type { Observable } from 'rxjs';",
      "import type { RxSocket } from 'rxwire';",
      '/** A message of some JSON protocol. */',
      'interface Message { readonly [key: string]: unknown }',
    ],
    values: {
      socket: 'declare const socket: RxSocket<Message, Message>;',
      msg: 'declare const msg: Message;',
      channel$: 'declare const channel$: Observable<Message>;',
      fetchFeed: 'declare function fetchFeed(): Promise<Message>;',
      retry: 'declare function retry(): void;',
    },
  },
  'lib/testing/': {
    types: [
      "import type { Server, Socket } from 'node:net';",
      "import type { FaultProxy, RawConnection, RawPeer, TestServer, UpgradeRequest } from 'rxwire/testing';",
      "import type { WebSocketServer } from 'ws';",
    ],
    values: {
      server: 'declare const server: TestServer;',
      proxy: 'declare const proxy: FaultProxy;',
      peer: 'declare const peer: RawPeer;',
      conn: 'declare const conn: RawConnection;',
      wss: 'declare const wss: WebSocketServer;',
      tcpServer: 'declare const tcpServer: Server;',
      socket: 'declare const socket: Socket;',
      sockets: 'declare const sockets: Set<Socket>;',
      client: 'declare const client: Socket;',
      upstream: 'declare const upstream: Socket;',
      request: 'declare const request: UpgradeRequest;',
      buffered: 'declare const buffered: Buffer;',
      reader: "declare const reader: import('rxwire/testing').FrameReader;",
      handle: "declare function handle(frame: import('rxwire/testing').ParsedFrame): void;",
      end: 'declare function end(): void;',
      bytes: 'declare let bytes: number;',
      options: 'declare const options: { readonly port?: unknown };',
      fault: 'declare const fault: { readonly ms?: unknown; readonly then?: unknown };',
      target: "declare const target: import('./lib/testing/loopback.js').ResolvedTarget;",
      up: "declare const up: import('./lib/testing/fault.js').NormalizedFault;",
      down: "declare const down: import('./lib/testing/fault.js').NormalizedFault;",
      context: "declare const context: import('./lib/testing/fault-link.js').LinkContext;",
      hooks: "declare const hooks: import('./lib/testing/fault-pipe.js').PipeHooks;",
    },
  },
  // The README's first example declares these itself; later ones use them as given.
  'README.md': {
    types: [],
    values: {
      In: "type In = { type: 'price'; symbol: string; price: number };",
      Out: "type Out = { type: 'subscribe'; symbol: string };",
      url: 'declare const url: string;',
      socket: "declare const socket: import('rxwire').RxSocket<In, Out>;",
    },
  },
  'lib/server/': {
    types: [
      "import type { Peer, Server } from 'rxwire/server';",
    ],
    values: {
      server: 'declare const server: Server<Message, Message>;',
      peer: 'declare const peer: Peer<Message, Message>;',
    },
  },
  'lib/server/broker.ts': {
    types: [],
    values: { broker: "declare const broker: import('rxwire/server').Broker;" },
  },
  'lib/redis/': {
    types: [],
    values: { broker: "declare const broker: import('rxwire/server').Broker;" },
  },
  'lib/core/errors.ts': {
    types: ["import type { Server } from 'rxwire/server';"],
    values: { server: 'declare const server: Server<Message, Message>;' },
  },
  'lib/testing/lifecycle.ts': {
    types: [],
    values: { server: 'declare const server: Server;' },
  },
};

/** Every .ts file under `dir`, sorted. */
function sources(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? sources(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : []))
    .sort();
}

/** `{ file, line, code }` for each ```ts block in an `@example` of a TSDoc comment. */
function extract(file) {
  const text = fs.readFileSync(file, 'utf8');
  const examples = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split('\n').length;
    const lines = comment[0].split('\n').map((line) => line.replace(/^\s*\/?\*\*?\/?( ?)/, ''));
    let inExample = false;
    for (let i = 0; i < lines.length; i++) {
      if (/^@\w/.test(lines[i])) inExample = lines[i].startsWith('@example');
      if (!inExample || !/^```(ts|typescript)\s*$/.test(lines[i])) continue;
      const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
      if (end < 0) throw new Error(`${path.relative(root, file)}:${firstLine + i}: unterminated code block`);
      examples.push({ file, line: firstLine + i + 1, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return examples;
}

/** The line above a ```ts block in a markdown file that marks it to be run (spec/examples). */
const RUN_MARKER = '<!-- readme-run -->';

/**
 * `{ file, line, code, run }` for each ```ts block of a markdown file; `line` is the block's first
 * line of code, `run` whether the line above its fence is RUN_MARKER. A marker that is not
 * directly above a ```ts fence is an error, so that a block cannot silently stop being run.
 */
function extractMarkdown(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const marked = lines[i].trim() === RUN_MARKER;
    if (marked && !/^```(ts|typescript)\s*$/.test(lines[i + 1] ?? '')) {
      throw new Error(`${path.relative(root, file)}:${i + 1}: ${RUN_MARKER} must be directly above a \`\`\`ts block`);
    }
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) {
      if (lines[i].startsWith('```')) i = lines.findIndex((line, j) => j > i && line.startsWith('```')); // skip other blocks
      if (i < 0) break;
      continue;
    }
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end < 0) throw new Error(`${path.relative(root, file)}:${i + 1}: unterminated code block`);
    blocks.push({ file, line: i + 2, code: lines.slice(i + 1, end).join('\n'), run: i > 0 && lines[i - 1].trim() === RUN_MARKER });
    i = end;
  }
  return blocks;
}

/**
 * The names each module exports, by specifier ('rxwire', 'rxwire/testing', or a lib file path),
 * and the public exports whose declarations have no @example.
 */
function exportsOf(files) {
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
  const checker = program.getTypeChecker();
  const symbols = (file) => {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(file));
    return symbol ? checker.getExportsOfModule(symbol) : [];
  };
  const names = (file) => new Set(symbols(file).map((s) => s.name));
  const undocumented = [];
  for (const [specifier, file] of [['rxwire', path.join(lib, 'index.ts')], ['rxwire/testing', path.join(lib, 'testing', 'index.ts')], ['rxwire/server', path.join(lib, 'server', 'index.ts')], ['rxwire/redis', path.join(lib, 'redis', 'index.ts')]]) {
    for (const exported of symbols(file)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const documented = (target.declarations ?? []).some((d) => ts.getJSDocTags(d).some((tag) => tag.tagName.text === 'example'));
      if (!documented) undocumented.push(`${specifier}: ${exported.name}`);
    }
  }
  const table = new Map(files.map((file) => [file, names(file)]));
  table.undocumented = undocumented;
  table.set('rxwire', names(path.join(lib, 'index.ts')));
  table.set('rxwire/testing', names(path.join(lib, 'testing', 'index.ts')));
  table.set('rxwire/server', names(path.join(lib, 'server', 'index.ts')));
  table.set('rxwire/redis', names(path.join(lib, 'redis', 'index.ts')));
  table.set('rxjs', new Set(Object.keys(require('rxjs'))));
  table.set('ws', new Set(['WebSocket', 'WebSocketServer']));
  table.set('node:net', new Set(['Server', 'Socket', 'createServer', 'connect']));
  return table;
}

/** Names an example imports or declares itself (a rough parse: enough for examples). */
function ownNames(code) {
  const own = new Set();
  for (const [, list] of code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from/g)) {
    for (const part of list.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop();
      if (name) own.add(name);
    }
  }
  for (const [, name] of code.matchAll(/import\s+(?:\*\s+as\s+)?(\w+)\s+from/g)) own.add(name);
  for (const [, name] of code.matchAll(/\b(?:const|let|var|function|class|interface|type|enum)\s+([\w$]+)/g)) own.add(name);
  for (const [, list] of code.matchAll(/\b(?:const|let|var)\s*[[{]([^=]*?)[\]}]\s*=/g)) {
    for (const part of list.split(',')) {
      const name = part.trim().split(':').pop().trim();
      if (/^[\w$]+$/.test(name)) own.add(name);
    }
  }
  return own;
}

/** Contextual keywords that rxjs also exports (`for (const x of xs)` is not a use of `of`). */
const KEYWORDS = new Set(['of']);

/**
 * Whether `code` mentions `name` as an identifier: not after a dot (a property), not before a
 * colon (an object key), not in a string or a comment.
 */
function uses(code, name) {
  if (KEYWORDS.has(name)) return new RegExp(`(?<![.\\w$])${name}\\s*[(<]`).test(code);
  const escaped = name.replace(/\$/g, '\\$');
  const plain = code.replace(/\/\/.*$/gm, '').replace(/'[^'\n]*'/g, "''").replace(/\.\.\./g, '   '); // a spread is not a property access
  return new RegExp(`(?<![.\\w$])${escaped}(?![\\w$])(?!\\s*:)`).test(plain);
}

function preludeFor(example, exportTable) {
  const relative = path.relative(root, example.file).split(path.sep).join('/');
  const areas = Object.keys(PRELUDE)
    .filter((prefix) => relative.startsWith(prefix))
    .sort((a, b) => a.length - b.length)
    .map((prefix) => PRELUDE[prefix]);
  const types = areas.flatMap((area) => area.types);
  const values = Object.assign({}, ...areas.map((area) => area.values));
  const own = ownNames(example.code);
  const lines = [...types];
  const needed = (name) => !own.has(name) && uses(example.code, name);
  for (const [name, declaration] of Object.entries(values)) {
    if (needed(name)) {
      lines.push(declaration);
      own.add(name);
    }
  }
  const selfModule = `./${relative.replace(/\.ts$/, '.js')}`;
  const sources = [['rxwire', 'rxwire'], ['rxwire/testing', 'rxwire/testing'], ['rxwire/server', 'rxwire/server'], ['rxwire/redis', 'rxwire/redis'], [example.file, selfModule], ['rxjs', 'rxjs'], ['ws', 'ws'], ['node:net', 'node:net']];
  for (const [key, specifier] of sources) {
    const names = [...(exportTable.get(key) ?? [])].filter(needed);
    names.forEach((name) => own.add(name));
    if (names.length > 0) lines.push(`import { ${names.join(', ')} } from '${specifier}';`);
  }
  return lines;
}

/**
 * Type-checks `examples` (`{ file, line, code }`) in one `tsc` program, each with its prelude.
 * Returns the errors, each at its example's line (`lib/x.ts:12: error TS...`); none when all pass.
 * `keep` leaves the temporary directory (under .scratch/) and logs where it is.
 */
function typeCheck(examples, exportTable, { keep = false } = {}) {
  const scratch = path.join(root, '.scratch');
  fs.mkdirSync(scratch, { recursive: true });
  const dir = fs.mkdtempSync(path.join(scratch, 'check-examples-'));
  try {
    // The examples sit beside a link to lib/, so that './lib/...' imports of internal modules work.
    fs.symlinkSync(lib, path.join(dir, 'lib'), 'dir');
    const origins = new Map();
    const names = examples.map((example, i) => {
      const prelude = preludeFor(example, exportTable);
      const name = `example-${String(i + 1).padStart(3, '0')}.ts`;
      const body = `${prelude.join('\n')}\n${example.code}\nexport {};\n`;
      fs.writeFileSync(path.join(dir, name), body);
      origins.set(name, { ...example, offset: prelude.length });
      return name;
    });
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        module: 'ESNext',
        moduleResolution: 'Bundler',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node', 'jest'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        paths: { rxwire: ['./lib/index.ts'], 'rxwire/testing': ['./lib/testing/index.ts'], 'rxwire/server': ['./lib/server/index.ts'], 'rxwire/redis': ['./lib/redis/index.ts'] },
      },
      files: names,
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    let output = '';
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
    } catch (error) {
      output = String(error.stdout || error.message);
    }
    return output
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const match = /^(example-\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
        const origin = match && origins.get(match[1]);
        if (!origin) return line;
        const at = Number(match[2]) - origin.offset - 1;
        const where = at >= 0 ? origin.line + at : origin.line;
        return `${path.relative(root, origin.file)}:${where}: ${at >= 0 ? '' : '(in the prelude) '}${match[4]}`;
      });
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

function main() {
  const files = sources(lib);
  const examples = [...files.flatMap(extract), ...extractMarkdown(path.join(root, 'README.md'))];
  const exportTable = exportsOf(files);
  const errors = typeCheck(examples, exportTable, { keep: process.argv.includes('--keep') });
  if (errors.length > 0) {
    console.error(`check-examples: ${errors.filter((e) => /error TS/.test(e)).length} errors in ${examples.length} examples\n${errors.join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`check-examples: ${examples.length} examples from ${new Set(examples.map((e) => e.file)).size} files type-check`);
  }
  const { undocumented } = exportTable;
  if (undocumented.length > 0) {
    const strict = process.argv.includes('--require-examples');
    (strict ? console.error : console.log)(`check-examples: ${undocumented.length} public exports have no @example: ${undocumented.join(', ')}`);
    if (strict) process.exitCode = 1;
  }
}

module.exports = { RUN_MARKER, exportsOf, extract, extractMarkdown, sources, typeCheck };

if (require.main === module) main();
