import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

// V8 gives every object made by `{ ...a, b }` (or `{ a, ...(c && { c }) }`) a hidden class of
// its own: a map and a descriptor array, several hundred bytes, for each connection that keeps
// one (found in heap snapshots of idle connections). The objects a connection keeps are built as
// literals instead. The fixture counts, in a child with V8's natives syntax, how often the map
// changes from one connection's object to the next: a shared class changes never.

test('what each connection keeps shares its hidden class: request, close info, state', async () => {
  const fixture = path.join(__dirname, 'fixtures', 'hidden-classes.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', fixture], { timeout: 30_000 });
  expect(JSON.parse(stdout)).toEqual({ states: 0, requests: 0, closedInfos: 0, count: 30 });
}, 40_000);
