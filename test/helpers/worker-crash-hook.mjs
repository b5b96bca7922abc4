/**
 * A preload for an agent process under test (`node --import <this file> bin/tyk-otel-pump.js run …`) that
 * lets a test crash one worker thread of `service.workers` from outside: on SIGUSR2 the main thread asks
 * its oldest live worker thread to throw, and the thread dies of an uncaught error as a real crash would
 * (the pool sees `error`, then `exit` with code 1). Node runs `--import` preloads in worker threads too;
 * the same file is the thread's half. Plain JavaScript: it loads before the agent registers tsx.
 */
import { isMainThread, parentPort, threadId } from 'node:worker_threads';

const CRASH = 'tyk-otel-pump-test:crash';

if (isMainThread) {
  /** Live worker threads, oldest first. */
  const live = [];
  process.on('worker', (w) => {
    // Not the module loader's own thread (tsx registers hooks, which run in an InternalWorker).
    if (w.constructor.name !== 'Worker') return;
    live.push(w);
    w.once('exit', () => live.splice(live.indexOf(w), 1));
  });
  process.on('SIGUSR2', () => {
    const w = live[0];
    process.stderr.write(`worker-crash-hook: ${w ? `crashing worker thread ${w.threadId}` : 'no live worker thread'}\n`);
    w?.postMessage(CRASH);
  });
} else {
  parentPort?.on('message', (m) => {
    if (m === CRASH) throw new Error(`worker-crash-hook: a crash asked for by the test (thread ${threadId})`);
  });
}
