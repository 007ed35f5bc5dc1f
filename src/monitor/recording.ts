/**
 * The store as a monitor's sink: opening it for writing, the one-recorder lock, and the hand-over between `top` and
 * `record`. A `record` (or `serve`) holds the store for good; a `top` records only while no recorder runs: when one
 * starts it asks (requestHandover), `top` finishes its buckets at its next tick, releases the lock and goes on
 * reading; when the recorder is gone, `top` takes the store back.
 */
import type { DockerWatcher } from '../collectors/docker.js';
import { SlurmExitCodes } from '../collectors/slurm.js';
import { isStoreError, StoreError } from '../errors/store-error.js';
import { safeText } from '../format.js';
import { openStore, type Store } from '../store/database.js';
import { acquireRecorderLock, handoverRequest, holderAlive, readRecorderLock, requestHandover, type LockRole, type RecorderLock } from '../store/lock.js';
import { Recorder, type ExitCodeSource, type RecorderEvents } from '../store/recorder.js';
import { StoreReader } from '../store/reader.js';
import type { Retention } from '../store/tiers.js';
import type { Monitor } from './monitor.js';
import os from 'node:os';

export interface RecordingOptions {
  readonly dbPath: string;
  readonly retention: Retention;
  /** @default 'record' */
  readonly role?: LockRole;
  /** Docker's exit codes for containers that exited. */
  readonly docker?: DockerWatcher;
  readonly events?: RecorderEvents;
  /** A `record` waits this long for a `top` holding the store to hand it over. @default 5000 */
  readonly handoverTimeoutMs?: number;
}

/**
 * Exit codes that come after a container's cgroup is gone: Docker's (its watcher), and a Slurm job's from slurmctld
 * (asked once per job, in the background).
 */
export function runtimeExitCodes(docker: DockerWatcher | undefined, slurm: SlurmExitCodes = new SlurmExitCodes()): ExitCodeSource {
  return {
    exitOf: (id, kind) => {
      if (kind === 'slurm') {
        const exitCode = slurm.exitOf(id);
        return exitCode === undefined ? undefined : { exitCode };
      }
      const meta = docker?.get(id);
      return meta?.exitCode === undefined
        ? undefined
        : {
            exitCode: meta.exitCode,
            ...(meta.finishedAtMs !== undefined && { finishedAtMs: meta.finishedAtMs }),
            ...(meta.oomKilled === true && { oomKilled: true }),
            // A container that ran and exited before Docker's event named it was recorded under its short id.
            ...(meta.name !== undefined && { name: meta.name }),
          };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A store opened for writing with its lock held and a Recorder on it. */
export class Recording {
  readonly store: Store;
  readonly recorder: Recorder;
  private readonly lock: RecorderLock;
  private closed = false;

  private constructor(store: Store, lock: RecorderLock, recorder: Recorder) {
    this.store = store;
    this.lock = lock;
    this.recorder = recorder;
  }

  /**
   * Opens the store for writing and takes the lock. A `record` finding a `top` recording asks it to hand over and
   * waits; anything else holding it (another record) is a StoreError 'locked' naming it.
   */
  static async open(options: RecordingOptions): Promise<Recording> {
    const store = openStore(options.dbPath);
    try {
      const role = options.role ?? 'record';
      const lock = role === 'record' ? await takeFromTop(store, options.handoverTimeoutMs ?? 5000) : acquireRecorderLock(store, { role });
      const recorder = new Recorder(store, options.retention, options.events ?? {}, runtimeExitCodes(options.docker));
      return new Recording(store, lock, recorder);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** The pid of a recorder that asked for the store (a `top` checks this every tick). */
  handoverRequested(): number | undefined {
    try {
      return handoverRequest(this.store);
    } catch {
      return undefined; // busy: asked again next tick
    }
  }

  /** Releases the lock and closes the store. The recorder must have been finished (Monitor.detach()) first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.lock.release();
    } finally {
      this.store.close();
    }
  }
}

/** acquireRecorderLock for a `record`: a `top` holding the store is asked to hand it over, and waited for. */
async function takeFromTop(store: Store, timeoutMs: number): Promise<RecorderLock> {
  try {
    return acquireRecorderLock(store, { role: 'record' });
  } catch (error) {
    if (!isStoreError(error) || error.reason !== 'locked') throw error;
    const holder = readRecorderLock(store);
    if (holder?.role !== 'top') throw error;
    requestHandover(store);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await sleep(100);
      try {
        return acquireRecorderLock(store, { role: 'record' });
      } catch (again) {
        if (!isStoreError(again) || again.reason !== 'locked' || Date.now() >= deadline) {
          if (isStoreError(again) && again.reason === 'locked') {
            throw new StoreError(
              store.path,
              'locked',
              `bubble top (pid ${holder.pid}) is recording to ${safeText(store.path)} and did not hand it over within ${timeoutMs / 1000} s; quit it or pass another --db`,
              { cause: again },
            );
          }
          throw again;
        }
      }
    }
  }
}

/** What the live view says about the store in its status line. */
export interface StoreStatus {
  readonly level: 'ok' | 'warn' | 'off';
  readonly text: string;
}

/** How often a `top` that is only reading tries to take the store back (a recorder ended). */
const RETAKE_EVERY_MS = 10_000;

/**
 * `top`'s side of the store: records while it can, hands over to a `record`, takes the store back when the recorder
 * is gone, and always has a connection to read history from (`store`). Driven by the monitor's ticks.
 */
export class TopRecording {
  private readonly monitor: Monitor;
  private readonly options: RecordingOptions;
  private recording: Recording | undefined;
  private readOnly: Store | undefined;
  private status_: StoreStatus;
  private writeError: string | undefined;
  private lastRetake = 0;
  private unsubscribe: (() => void) | undefined;

  private constructor(monitor: Monitor, options: RecordingOptions) {
    this.monitor = monitor;
    this.options = options;
    this.status_ = { level: 'off', text: 'no store: history since launch only' };
  }

  /**
   * Starts recording into `dbPath` when `record` is true and no recorder holds it; otherwise reads it. Never throws:
   * what went wrong is the status line.
   */
  static async start(monitor: Monitor, options: RecordingOptions & { readonly record: boolean }): Promise<TopRecording> {
    const top = new TopRecording(monitor, { ...options, role: 'top' });
    if (options.record) await top.tryRecord();
    else top.status_ = { level: 'ok', text: `history from ${options.dbPath}` };
    if (top.recording === undefined) top.openReader();
    if (options.record) top.unsubscribe = monitor.onSnapshot(() => top.afterTick());
    return top;
  }

  /** The connection history is read from (undefined without a store). */
  get store(): Store | undefined {
    return this.recording?.store ?? this.readOnly;
  }

  /** History through the current connection; a new reader when the connection changes (hand-over, take-back). */
  get reader(): StoreReader | undefined {
    const store = this.store;
    if (store === undefined) return undefined;
    if (this.readerOf?.store !== store) this.readerOf = new StoreReader(store);
    return this.readerOf;
  }

  private readerOf: StoreReader | undefined;

  status(): StoreStatus {
    if (this.recording !== undefined && this.writeError !== undefined) return { level: 'warn', text: `store: ${this.writeError}; retrying` };
    return this.status_;
  }

  private async tryRecord(): Promise<void> {
    try {
      const recording = await Recording.open({
        ...this.options,
        events: {
          onWriteError: (error) => {
            this.writeError = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
          },
          onRecovered: () => {
            this.writeError = undefined;
          },
        },
      });
      this.readOnly?.close();
      this.readOnly = undefined;
      this.recording = recording;
      this.monitor.attach(recording.recorder);
      this.status_ = { level: 'ok', text: `recording to ${this.options.dbPath}` };
    } catch (error) {
      const holder = this.holderPid();
      this.status_ =
        holder !== undefined
          ? { level: 'ok', text: `history from bubble record (pid ${holder})` }
          : { level: 'warn', text: `store read-only: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  private holderPid(): number | undefined {
    let store: Store | undefined;
    try {
      store = this.readOnly ?? openStore(this.options.dbPath, { readonly: true });
      const holder = readRecorderLock(store);
      return holder !== undefined && holderAlive(holder, os.hostname()) ? holder.pid : undefined;
    } catch {
      return undefined;
    } finally {
      if (store !== this.readOnly) store?.close();
    }
  }

  private openReader(): void {
    if (this.readOnly !== undefined) return;
    try {
      this.readOnly = openStore(this.options.dbPath, { readonly: true });
    } catch (error) {
      this.status_ = { level: 'off', text: `no store: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** After each tick: hand over when asked; take the store back when its recorder is gone. */
  private afterTick(): void {
    if (this.recording !== undefined) {
      const asking = this.recording.handoverRequested();
      if (asking !== undefined) this.handOver(asking);
      return;
    }
    const now = Date.now();
    if (now - this.lastRetake < RETAKE_EVERY_MS) return;
    this.lastRetake = now;
    if (this.holderPid() !== undefined) return;
    void this.tryRecord();
  }

  /** Finishes this session's buckets and lets the waiting recorder have the store; reading goes on. */
  private handOver(pid: number): void {
    const recording = this.recording!;
    this.recording = undefined;
    try {
      this.monitor.detach();
    } catch {
      // The store cannot take the last buckets (full disk): the recorder that takes over goes on from here.
    }
    recording.close();
    this.lastRetake = Date.now();
    this.openReader();
    this.status_ = { level: 'ok', text: `history from bubble record (pid ${pid})` };
  }

  /** Finishes recording (the open buckets are written) and closes the store. */
  close(): void {
    this.unsubscribe?.();
    try {
      if (this.recording !== undefined) this.monitor.detach();
    } finally {
      this.recording?.close();
      this.recording = undefined;
      this.readOnly?.close();
      this.readOnly = undefined;
    }
  }
}
