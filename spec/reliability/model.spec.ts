import { tripped } from '../helpers/tripwires';
import fc from 'fast-check';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { now, round, SEED, sized } from './kit';
import { ALL_KINDS, commandsArb, runCommands, type CommandKind } from './scenarios/model';
import { startModelServer } from './scenarios/model-server';
import { sleep } from '../helpers/wait';

// A model-based test (fast-check `commands`): random interleavings of send (awaited, fire-and-
// forget, outgoing), messages$ subscribers, for await loops, channels, requests, close() (also
// from inside state$, errors$, dropped$ and messages$ observers), server pushes (several
// messages in one read), server close codes, restarts, resets and event-loop stalls, against a
// real client and a real ws server in a worker thread. After every command and at the end it
// checks the promises of docs/concepts.md, docs/state.md and docs/buffering.md: see
// scenarios/model.ts.

const RUNS = Number(process.env.RXWIRE_MODEL_RUNS ?? '') || sized(150, 2000);
const MAX_COMMANDS = sized(12, 25);

/**
 * Command kinds that trip a known defect of the library (the issue being fixed in parallel):
 * they are left out of the CI run so that it guards everything else, and `RXWIRE_MODEL_ALL=1`
 * puts them back (`RXWIRE_MODEL_OFF=a,b` sets the list). Remove an entry once its fix lands.
 * None today; the last one, close-in-messages$ ([subscribe, arm close() in messages$,
 * request(timeout 20)]: RxJS onStoppedNotification 'N'), was fixed by ending the connection for
 * the other observers after the message in delivery reached them (client/link.ts).
 */
const KNOWN_DEFECTS: readonly CommandKind[] = (process.env.RXWIRE_MODEL_OFF ?? '').split(',').filter(Boolean) as CommandKind[];

const ALL = process.env.RXWIRE_MODEL_ALL === '1';
/** `RXWIRE_MODEL_ONLY=greet,subscribe,push` generates only those kinds (to hunt one defect). */
const ONLY = process.env.RXWIRE_MODEL_ONLY?.split(',') as CommandKind[] | undefined;
const ENABLED = ONLY ?? (ALL ? ALL_KINDS : ALL_KINDS.filter((kind) => !KNOWN_DEFECTS.includes(kind)));
/** `RXWIRE_MODEL_PATH` (with `RXWIRE_SEED`) replays one counterexample that fast-check printed. */
const PATH = process.env.RXWIRE_MODEL_PATH;
const REPLAY = process.env.RXWIRE_MODEL_REPLAY;

test(`${RUNS} random command sequences of up to ${MAX_COMMANDS} (seed ${SEED}${ALL ? ', known defects included' : ''})`, async () => {
  const server = await startModelServer();
  onDispose(() => server.stop());
  let runs = 0;
  const start = now();
  await fc.assert(
    fc.asyncProperty(commandsArb(ENABLED, MAX_COMMANDS, REPLAY), async (commands) => {
      runs++;
      const before = tripped.length;
      await runCommands(server, commands);
      await sleep(5); // RxJS reports stopped notifications on a timer
      // The global tripwires, per run, so that fast-check shrinks to the sequence that trips them.
      const trips = tripped.splice(before);
      if (trips.length > 0) throw new Error(`tripwires: ${trips.join('; ')}`);
    }),
    { numRuns: RUNS, seed: SEED, ...(PATH !== undefined && { path: PATH }), interruptAfterTimeLimit: 240_000, markInterruptAsFailure: true, verbose: 1 },
  );
  figure(
    `${runs} command sequences, fast-check seed ${SEED}`,
    `${runs} runs of up to ${MAX_COMMANDS} commands in ${round((now() - start) / 1000)} s; ${KNOWN_DEFECTS.length} command kinds off for known defects`,
    'no broken promise: single session, no duplicate or vanished message, send() settles once and truthfully, the state table, one completion, nothing left open',
  );
}, 600_000);
