/**
 * The store's schema, as migrations applied in order; `PRAGMA user_version` holds how many have run. A file whose
 * user_version is above MIGRATIONS.length was written by a newer bubble and is refused, never downgraded.
 * Documented in docs/store.md: change both together.
 *
 * Times are epoch milliseconds (INTEGER). Series rows are keyed (tier, bucket, entity) in WITHOUT ROWID tables:
 * retention deletes a prefix range (tier, bucket < cutoff) and a replay reads a bucket range, both on the key.
 */
export const APPLICATION_ID = 0x62756231; // 'bub1' in PRAGMA application_id: tells a bubble store from other SQLite files

export const MIGRATIONS: readonly string[] = [
  // 1: entities and the tiered series
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE containers (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,   -- 'docker:<id>', 'slurm:<jobid>', 'host', ... (containerKey())
    kind       TEXT NOT NULL,
    cid        TEXT NOT NULL,          -- Identity.id: container id, job id, machine name
    name       TEXT NOT NULL,
    image      TEXT,
    labels     TEXT,                   -- JSON object
    cgroup     TEXT NOT NULL,
    parent     TEXT,                   -- pod UID, podman pod
    user       TEXT,                   -- Slurm job user
    memory_limit INTEGER,              -- bytes, as last seen; NULL when unlimited
    cpu_limit  REAL,                   -- cores (CFS quota / period), as last seen; NULL when unlimited
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    exit_time  INTEGER,
    exit_code  INTEGER
  ) STRICT;
  CREATE INDEX containers_last_seen ON containers (last_seen);

  CREATE TABLE processes (
    id           INTEGER PRIMARY KEY,
    container_id INTEGER NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    pid          INTEGER NOT NULL,
    start_time   INTEGER NOT NULL,     -- with pid, the process's identity (pid alone is reused)
    ppid         INTEGER NOT NULL,
    parent_id    INTEGER,              -- processes.id of the parent when it was recorded
    nspid        INTEGER,
    comm         TEXT NOT NULL,
    exe          TEXT NOT NULL,
    cmdline      TEXT NOT NULL,
    uid          INTEGER NOT NULL,
    user         TEXT NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    exit_time    INTEGER,
    UNIQUE (pid, start_time)
  ) STRICT;
  CREATE INDEX processes_container ON processes (container_id);

  -- Per container per bucket. Sums (cpu_ns, bytes) are conserved across tiers; mem_avg is over samples.
  CREATE TABLE container_series (
    tier         INTEGER NOT NULL,     -- 0 second, 1 minute, 2 hour, 3 day
    bucket       INTEGER NOT NULL,     -- bucket start
    container_id INTEGER NOT NULL,
    cpu_ns       INTEGER NOT NULL,
    mem_avg      INTEGER,
    mem_max      INTEGER,
    read_bytes   INTEGER NOT NULL,
    write_bytes  INTEGER NOT NULL,
    net_rx_bytes INTEGER,
    net_tx_bytes INTEGER,
    pids_max     INTEGER,
    samples      INTEGER NOT NULL,
    PRIMARY KEY (tier, bucket, container_id)
  ) STRICT, WITHOUT ROWID;

  -- Per process per bucket. The second tier is change-only: an idle process writes no row and readers carry its
  -- last values forward; coarser tiers hold a row for every process alive in the bucket.
  CREATE TABLE process_series (
    tier        INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    process_id  INTEGER NOT NULL,
    cpu_ns      INTEGER NOT NULL,
    rss_avg     INTEGER NOT NULL,
    rss_max     INTEGER NOT NULL,
    read_bytes  INTEGER NOT NULL,
    write_bytes INTEGER NOT NULL,
    threads_max INTEGER NOT NULL,
    samples     INTEGER NOT NULL,
    PRIMARY KEY (tier, bucket, process_id)
  ) STRICT, WITHOUT ROWID;

  -- What a process touched, as intervals: one row per continuous sighting of (file, mode) or (endpoint, state).
  -- A file closed and opened again later is a new row. Bytes are known when sysdig saw the I/O (source 'sysdig'
  -- or 'both'); procfs sees what is open at each tick.
  CREATE TABLE file_access (
    id         INTEGER PRIMARY KEY,
    process_id INTEGER NOT NULL,
    path       TEXT NOT NULL,
    mode       TEXT NOT NULL,          -- r, w, rw; a for append (wa, rwa)
    deleted    INTEGER NOT NULL,       -- 1 when the path had been unlinked while open
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    opens      INTEGER NOT NULL,       -- opens seen: new descriptors (procfs) or open calls (sysdig)
    bytes_in   INTEGER,
    bytes_out  INTEGER,
    source     TEXT NOT NULL           -- procfs, sysdig, both
  ) STRICT;
  CREATE INDEX file_access_process ON file_access (process_id, last_seen);
  CREATE INDEX file_access_last_seen ON file_access (last_seen);

  CREATE TABLE net_access (
    id         INTEGER PRIMARY KEY,
    process_id INTEGER NOT NULL,
    protocol   TEXT NOT NULL,          -- tcp, tcp6, udp, udp6, unix
    local      TEXT NOT NULL,          -- address:port, [v6]:port, or the unix path
    remote     TEXT NOT NULL,
    state      TEXT NOT NULL,          -- LISTEN, ESTABLISHED, ...; or 'seen' when the source has no state (sysdig)
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    opens      INTEGER NOT NULL,
    bytes_in   INTEGER,
    bytes_out  INTEGER,
    source     TEXT NOT NULL
  ) STRICT;
  CREATE INDEX net_access_process ON net_access (process_id, last_seen);
  CREATE INDEX net_access_last_seen ON net_access (last_seen);
  `,
  // 2: recording sessions (bucket bookkeeping across restarts and crashes) and the sampled time of each bucket
  `
  -- One row per Recorder run that recorded at least one tick. Minute, hour and day rows are merged from a session's
  -- second rows as its minutes close; a session that never ended (kill -9, SIGHUP) is folded by the next recorder.
  CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY,
    pid            INTEGER NOT NULL,
    started        INTEGER NOT NULL,   -- its first tick
    last_tick      INTEGER NOT NULL,   -- its newest tick written, updated in every tick's transaction
    folded_through INTEGER NOT NULL,   -- its second buckets before this are in the minute, hour and day rows
    ended          INTEGER             -- NULL until it finished (or was recovered by a later recorder)
  ) STRICT;
  CREATE INDEX sessions_open ON sessions (started) WHERE ended IS NULL;

  -- Sum of the tick intervals folded into the bucket: rates are over sampled time, not the bucket length.
  -- NULL on rows written before this migration (unknown: readers fall back to the bucket length).
  ALTER TABLE container_series ADD COLUMN sampled_ms INTEGER;
  `,
  // 3: the descriptor of each access interval, so replay's files and network panes show the FD column as live does;
  // paths lose the kernel's ' (deleted)' suffix, which the deleted column says (shown once, model/access.ts).
  `
  ALTER TABLE file_access ADD COLUMN fd INTEGER;   -- NULL when unknown (sysdig alone, or rows written before)
  ALTER TABLE net_access ADD COLUMN fd INTEGER;
  UPDATE file_access SET path = substr(path, 1, length(path) - 10) WHERE deleted = 1 AND path LIKE '% (deleted)';
  `,
  // 4: per-process network bytes, measured by the bpftrace source, and a process's exit code, which bpftrace
  // sees; NULL where nothing measured them.
  `
  ALTER TABLE process_series ADD COLUMN net_rx_bytes INTEGER;
  ALTER TABLE process_series ADD COLUMN net_tx_bytes INTEGER;
  ALTER TABLE processes ADD COLUMN exit_code INTEGER;  -- exit status, or 128 + signal number, like a shell's $?
  `,
  // 5: what replay needs to show what live showed: where a container's CPU came from, and a process's commands
  // across exec (pid + start time does not change on exec).
  `
  ALTER TABLE containers ADD COLUMN cpu_source TEXT;  -- 'cgroup' or 'processes', as last seen; NULL in older rows
  -- The key live showed (pid:start ticks for procfs, pid:start ms for a sysdig-only process); NULL in older rows.
  -- Looked up with pid (the UNIQUE (pid, start_time) index), so it needs no index of its own.
  ALTER TABLE processes ADD COLUMN key TEXT;
  -- 1 once the interval ended (its last_seen is then exact); 0 while open or when the recorder stopped first (its
  -- last_seen is then refreshed once a minute, and readers allow for that).
  ALTER TABLE file_access ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE net_access ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;

  -- A process's commands over its life, written when it changed (exec): the command from \`since\` on. A process
  -- that never changed has no rows here; processes.comm/exe/cmdline hold the newest command either way.
  CREATE TABLE process_commands (
    process_id INTEGER NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
    since      INTEGER NOT NULL,
    comm       TEXT NOT NULL,
    exe        TEXT NOT NULL,
    cmdline    TEXT NOT NULL,
    PRIMARY KEY (process_id, since)
  ) STRICT, WITHOUT ROWID;
  `,
  // 6: the time a process's CPU deltas were over (its counters are read in one pass, apart from its container's
  // cgroup): replay shows a process's CPU% over the same time live did. NULL on older rows: the container's is used.
  `
  ALTER TABLE process_series ADD COLUMN sampled_ms INTEGER;
  `,
  // 7: OOM kills of a container, from its cgroup's counter or Docker's OOMKilled, its cpuset's CPUs (a Slurm job's
  // allocation) and a job's steps, for `bubble report`.
  `
  ALTER TABLE containers ADD COLUMN oom_kills INTEGER;    -- NULL when never read
  ALTER TABLE containers ADD COLUMN cpuset_cpus INTEGER;  -- CPUs of a cpuset narrower than the host, as last seen
  ALTER TABLE containers ADD COLUMN steps TEXT;           -- Slurm: JSON array of every step seen, sorted
  -- The cgroup's own peak (memory.max_usage_in_bytes, memory.peak), the highest read: ticks can miss a peak between them.
  ALTER TABLE containers ADD COLUMN memory_peak INTEGER;
  `,
  // 8: failed syscalls per process, syscall and errno, from bpftrace's error probe or the sysdig bridge. Counts are
  // summed per bucket through the tiers like the other series (conserved), pruned with them, merged on conflict.
  `
  CREATE TABLE syscall_errors (
    tier       INTEGER NOT NULL,
    bucket     INTEGER NOT NULL,
    process_id INTEGER NOT NULL,
    syscall    TEXT NOT NULL,          -- 'openat'; the number as text when the source had no name for it
    errno      TEXT NOT NULL,          -- 'ENOENT'; the number as text likewise
    count      INTEGER NOT NULL,
    PRIMARY KEY (tier, bucket, process_id, syscall, errno)
  ) STRICT, WITHOUT ROWID;
  `,
  // 9: a container's IP addresses, so replay's network pane and `export --what network` name the container at the
  // other end of a socket, as live does.
  `
  ALTER TABLE containers ADD COLUMN addresses TEXT;       -- JSON array of its addresses (Docker), as last seen
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
