import { collector, SEED } from './kit';
import { closeAgainstZombie, offlineFlood, reconnectStorm, soakCycles, zombieDetection } from './scenarios';

/**
 * Runs one reliability scenario in this process and prints its result as one `RESULT {json}` line.
 * Used by `scripts/reliability.js` (strict figures, under `--expose-gc`) and by soak.spec.ts (the
 * child process that must exit by itself). Nothing here calls `process.exit`: the process ends
 * when the scenario has left no handle behind.
 *
 *   node --expose-gc --import tsx spec/reliability/measure.ts <scenario> '<json options>'
 *
 * Scenarios: zombie, close-zombie, storm, flood, soak.
 */

async function main(): Promise<void> {
  const [name = '', json = '{}'] = process.argv.slice(2);
  const options = JSON.parse(json) as Record<string, unknown>;
  const gc = collector();
  let result: unknown;
  switch (name) {
    case 'zombie':
      result = await zombieDetection({
        direction: (options.direction as 'both' | 'up' | 'down') ?? 'both',
        runs: Number(options.runs ?? 20),
        interval: Number(options.interval ?? 100),
        timeout: Number(options.timeout ?? 100),
        seed: Number(options.seed ?? SEED),
      });
      break;
    case 'close-zombie':
      result = await closeAgainstZombie({ runs: Number(options.runs ?? 20), closeTimeout: Number(options.closeTimeout ?? 200) });
      break;
    case 'storm':
      result = await reconnectStorm({ clients: Number(options.clients ?? 1000), downMs: Number(options.downMs ?? 1500) });
      break;
    case 'flood':
      result = await offlineFlood({
        total: Number(options.total ?? 100_000),
        durationMs: Number(options.durationMs ?? 1000),
        size: Number(options.size ?? 1000),
        timeout: Number(options.timeout ?? 300),
        overflow: options.overflow === 'drop-oldest' ? 'drop-oldest' : 'drop-newest',
        gc,
      });
      break;
    case 'soak':
      result = await soakCycles({ cycles: Number(options.cycles ?? 10_000), samples: Number(options.samples ?? 11), gc });
      break;
    default:
      throw new Error(`Unknown scenario \`${name}\`: expected zombie, close-zombie, storm, flood or soak`);
  }
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
