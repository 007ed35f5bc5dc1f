/**
 * Every way of stopping closes the store cleanly: SIGINT, SIGTERM and SIGHUP (a closed terminal) stop the monitor
 * through one AbortController, a signal repeated while closing is not fatal (a second SIGTERM 5 ms after the first
 * must not kill the process halfway through its last write), and a process that exits anyway runs the finisher
 * synchronously from 'exit' (better-sqlite3 is synchronous, so the open buckets still reach the file).
 */

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** A user who really means it: this many signals end the process at once (the exit hook still writes). */
const FORCE_AFTER = 3;

/** Aborts `controller` on the first stop signal; returns the function that removes the handlers. */
export function abortOnSignals(controller: AbortController): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    if (count >= FORCE_AFTER) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  };
}

/** Runs `finish` if the process exits before it was cancelled (the returned function); never twice. */
export function onExitFinish(finish: () => void): () => void {
  let done = false;
  const hook = (): void => {
    if (done) return;
    done = true;
    try {
      finish();
    } catch {
      // On the way out nothing more can be done; the store keeps what its last transaction committed.
    }
  };
  process.on('exit', hook);
  return () => {
    done = true;
    process.off('exit', hook);
  };
}
