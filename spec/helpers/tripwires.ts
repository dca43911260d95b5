import { config } from 'rxjs';

/**
 * Global tripwires: counts of unhandled rejections, uncaught exceptions, process warnings and
 * RxJS unhandled errors / stopped notifications. A spec file that imports this asserts they stay
 * at 0 after each test.
 */
export const tripped: string[] = [];

const onRejection = (reason: unknown): void => void tripped.push(`unhandledRejection: ${String(reason)}`);
const onException = (error: unknown): void => void tripped.push(`uncaughtException: ${String(error)}`);
const onWarning = (warning: Error): void => void tripped.push(`warning: ${warning.name}: ${warning.message}`);

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);
  config.onUnhandledError = (error) => void tripped.push(`rxjs onUnhandledError: ${String(error)}`);
  config.onStoppedNotification = (notification) => void tripped.push(`rxjs onStoppedNotification: ${notification.kind}`);
});

afterEach(() => {
  expect(tripped.splice(0)).toEqual([]);
});

afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  process.off('warning', onWarning);
  config.onUnhandledError = null;
  config.onStoppedNotification = null;
});
