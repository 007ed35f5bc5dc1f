--[[
bubble.lua: the sysdig side of bubble's sysdig bridge (protocol v1, see README.md next to this file).

Run by hand:  sysdig -pc -c native/sysdig-bridge/bubble.lua            (live, needs sysdig's kernel driver)
              sysdig -r capture.scap -c native/sysdig-bridge/bubble.lua  (offline, no driver needed)
Optional argument: the interval in milliseconds (default 1000), e.g. `-c bubble.lua 500`.

It writes one flat JSON object per line on stdout: identity once per process (`proc`, or `exec` when the process
execs), `exit`, and per interval `cpu`, `io` (per process and fd) and `err` (per process, syscall and errno) followed
by a `tick`; `hello` first and `end` last. Counters are summed here, in sysdig's process, so the pipe carries a few
lines per active process per interval instead of one line per syscall.

Written for bubble (Apache-2.0); it only uses the chisel API of sysdig 0.29 (chisel.*, evt.*, sysdig.*).
]]

description = "Emits bubble's bridge protocol (v1): per interval and process CPU, per process and fd file/network "
  .. "bytes and opens, exec and exit of processes, and syscall failures by errno, as JSON lines on stdout."
short_description = "bubble bridge: per-process CPU, I/O, exec/exit and errors as JSON lines"
category = "bubble"
args = {
  {
    name = "interval_ms",
    description = "length of one interval in milliseconds (default 1000)",
    argtype = "int",
    optional = true,
  },
}

local PROTOCOL = 1
local BRIDGE_VERSION = "1.0.0"
-- procinfo events carry utime+stime in clock ticks (USER_HZ, 100 on Linux); thread.cpu is their per-thread delta.
local NS_PER_TICK = 10000000
local EINPROGRESS = -115

local interval_ms = 1000

local byte, char, find, format, sub, floor = string.byte, string.char, string.find, string.format, string.sub, math.floor
local concat = table.concat

-- ---------------------------------------------------------------------------------------------------------------
-- JSON text. Names, paths and command lines come from the traced programs: any byte can appear. Control characters,
-- quote and backslash are escaped; bytes that are not well-formed UTF-8 become U+FFFD, so every line is valid JSON.

local SHORT_ESCAPES = { [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r", [34] = '\\"', [92] = "\\\\" }

-- Length of the well-formed UTF-8 sequence starting at i (lead byte c), or nil (RFC 3629 table 3-7).
local function utf8_len(s, i, c)
  local b1, b2, b3 = byte(s, i + 1, i + 3)
  if c >= 0xC2 and c <= 0xDF then
    if b1 and b1 >= 0x80 and b1 <= 0xBF then return 2 end
  elseif c >= 0xE0 and c <= 0xEF then
    local lo, hi = 0x80, 0xBF
    if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end -- no overlongs, no surrogates
    if b1 and b1 >= lo and b1 <= hi and b2 and b2 >= 0x80 and b2 <= 0xBF then return 3 end
  elseif c >= 0xF0 and c <= 0xF4 then
    local lo, hi = 0x80, 0xBF
    if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end -- no overlongs, nothing above U+10FFFF
    if b1 and b1 >= lo and b1 <= hi and b2 and b2 >= 0x80 and b2 <= 0xBF and b3 and b3 >= 0x80 and b3 <= 0xBF then
      return 4
    end
  end
  return nil
end

local function jstr(s)
  if s == nil then return '""' end
  -- Fast path: plain ASCII without anything to escape (almost every path and name).
  if not find(s, '[%z\1-\31"\\\128-\255]') then return '"' .. s .. '"' end
  local out, n, i, len = {}, 0, 1, #s
  while i <= len do
    local c = byte(s, i)
    local piece
    if c < 0x80 then
      if c < 0x20 or c == 34 or c == 92 then
        piece = SHORT_ESCAPES[c] or format("\\u%04x", c)
      else
        piece = char(c)
      end
      i = i + 1
    else
      local l = utf8_len(s, i, c)
      if l then
        piece = sub(s, i, i + l - 1)
        i = i + l
      else
        piece = "\\ufffd"
        i = i + 1
      end
    end
    n = n + 1
    out[n] = piece
  end
  return '"' .. concat(out) .. '"'
end

-- Whole numbers as JSON integers (%d would wrap above 2^31 on some Lua builds).
local function jint(x)
  return format("%.0f", x)
end

-- Event times are kept as microseconds since the epoch (exact in a double until the year 2255) and written as
-- milliseconds with three decimals.
local function us_of(s, ns)
  return s * 1000000 + floor(ns / 1000)
end

local function jms(us)
  return format("%.0f.%03d", floor(us / 1000), us % 1000)
end

-- ---------------------------------------------------------------------------------------------------------------
-- Output: lines are collected and written once per interval, then flushed, so a live pipe sees whole intervals.

local out, nout = {}, 0
local records = 0

local function emit(line)
  nout = nout + 1
  out[nout] = line
  records = records + 1
end

local function write_out()
  if nout > 0 then
    out[nout + 1] = ""
    io.write(concat(out, "\n"))
    out, nout = {}, 0
  end
  io.stdout:flush()
end

-- ---------------------------------------------------------------------------------------------------------------
-- Fields (requested in on_init; read lazily, only for the events that need them).

local F = {}
local FIELD_NAMES = {
  "proc.pid", "thread.tid", "evt.dir", "evt.rawres", "evt.res", "evt.failed", "evt.is_io_read", "evt.is_io_write",
  "thread.cpu", "thread.exectime", "proc.duration", "evt.arg.tuple", "evt.rawarg.status",
  "fd.num", "fd.name", "fd.typechar", "fd.cip", "fd.sip", "fd.cport", "fd.sport", "fd.l4proto", "fd.is_server",
  "proc.ppid", "proc.vpid", "proc.name", "proc.exe", "proc.exepath", "proc.args", "user.uid", "thread.cgroups",
  "container.id",
}

local function field(name)
  return evt.field(F[name])
end

-- sysdig writes "<NA>" where it does not know a string (processes that started before a capture without a table).
local function known(s)
  if s == nil or s == "<NA>" then return "" end
  return s
end

-- ---------------------------------------------------------------------------------------------------------------
-- Process state. A process is (pid, start): `start` is its start time when sysdig knows it (proc.duration on an
-- event of its main thread), else the time bubble first saw it; either way it tells a reused pid apart.

local procs = {}        -- pid -> state of the live process
local exited = {}       -- pid -> state that exited this interval (late events of its other threads still count)
local dirty, ndirty = {}, 0
local pending_tuple = {} -- tid -> tuple of the last sendto/sendmsg enter event (ping's socket has no fd name)
local events, interval_events = 0, 0
local last_us = nil      -- time of the latest event
local interval_us = nil  -- where the current interval began (the previous tick, or the first event)
local hello_done = false

local function identity(st, t, ts_us)
  local pid = st.pid
  local ppid = field("proc.ppid")
  local vpid = field("proc.vpid")
  local uid = field("user.uid")
  if uid == nil or uid == 4294967295 then uid = -1 end
  local argv0 = known(field("proc.exe"))
  local args = known(field("proc.args"))
  local cmdline = argv0
  if args ~= "" then cmdline = argv0 .. " " .. args end
  emit('{"v":1,"t":"' .. t .. '","ts":' .. jms(ts_us) .. ',"pid":' .. jint(pid) .. ',"start":' .. st.start_ms
    .. ',"start_exact":' .. (st.start_exact and "true" or "false")
    .. ',"ppid":' .. jint(ppid or -1)
    .. ',"vpid":' .. jint(vpid or -1)
    .. ',"uid":' .. jint(uid)
    .. ',"comm":' .. jstr(known(field("proc.name")))
    .. ',"exe":' .. jstr(known(field("proc.exepath")))
    .. ',"cmdline":' .. jstr(cmdline)
    .. ',"container":' .. jstr(known(field("container.id")))
    .. ',"cgroups":' .. jstr(known(field("thread.cgroups")))
    .. "}")
end

local function new_state(pid, tid, ts_us)
  local st = {
    pid = pid, cpu_ticks = 0, run_ns = 0, fds = {}, fdlist = {}, nfd = 0, errs = {}, errlist = {}, nerr = 0,
    dirty = false,
  }
  local d = nil
  if tid == pid then d = field("proc.duration") end
  if d ~= nil and d >= 0 then
    st.start_ms = jms(ts_us - floor(d / 1000))
    st.start_exact = true
  else
    st.start_ms = jms(ts_us)
    st.start_exact = false
  end
  procs[pid] = st
  exited[pid] = nil
  return st
end

-- The state of the process an event belongs to, announcing it (proc, or exec when the event is its execve) the first
-- time. Threads of a process that just exited still find it in `exited`; its main thread would mean a new process.
local function lookup(pid, tid, ts_us, is_exec)
  local st = procs[pid]
  if st == nil and tid ~= pid then st = exited[pid] end
  if st == nil then
    st = new_state(pid, tid, ts_us)
    identity(st, is_exec and "exec" or "proc", ts_us)
  elseif is_exec then
    identity(st, "exec", ts_us)
  end
  return st
end

local function touch(st)
  if not st.dirty then
    st.dirty = true
    ndirty = ndirty + 1
    dirty[ndirty] = st
  end
end

-- ---------------------------------------------------------------------------------------------------------------
-- File descriptors. Per process and interval, one entry per (fd number, name): a reused fd number or a UDP socket
-- that sends to several peers gives several entries.

local function split_tuple(tuple)
  -- "1.2.3.4:5->6.7.8.9:10" or "2001:db8::1:5->2001:db8::2:53"; the port follows the last colon of each side.
  local a, b = tuple:match("^(.-)%->(.*)$")
  if a == nil then return nil end
  local cip, cport = a:match("^(.*):(%d+)$")
  local sip, sport = b:match("^(.*):(%d+)$")
  if cip == nil or sip == nil then return nil end
  return cip, tonumber(cport), sip, tonumber(sport)
end

local NET_TYPES = { ["4"] = true, ["6"] = true }

-- role: "client" for connect, "server" for accept, nil to ask sysdig (fd.is_server is not set yet when a
-- non-blocking connect returns EINPROGRESS). sent_to: the destination a sendto/sendmsg enter event named, if any.
local function fd_entry(st, fdnum, role, sent_to)
  local name = known(field("fd.name"))
  local tc = field("fd.typechar") or "o"
  local tuple = nil
  if name == "" and sent_to ~= nil and not NET_TYPES[tc] and tc ~= "f" then
    -- A socket opened before sysdig started has no name or type; its sendto/sendmsg still said where data went.
    tuple = sent_to
    name = tuple
    tc = "?net"
  end
  local key = fdnum .. "\0" .. name
  local e = st.fds[key]
  if e ~= nil then return e end

  local parts
  if tc == "f" or tc == "d" then
    parts = ',"kind":"file","path":' .. jstr(name)
  elseif NET_TYPES[tc] then
    parts = ',"kind":"net"'
    local l4 = field("fd.l4proto")
    if l4 ~= nil and l4 ~= "<NA>" and l4 ~= "" then parts = parts .. ',"l4proto":' .. jstr(l4) end
    local cip, sip = field("fd.cip"), field("fd.sip")
    if cip ~= nil and sip ~= nil then
      parts = parts .. ',"cip":' .. jstr(cip) .. ',"cport":' .. jint(field("fd.cport") or 0)
        .. ',"sip":' .. jstr(sip) .. ',"sport":' .. jint(field("fd.sport") or 0)
      local server
      if role ~= nil then server = role == "server" else server = field("fd.is_server") end
      if server ~= nil then parts = parts .. ',"server":' .. (server and "true" or "false") end
    elseif name ~= "" then
      parts = parts .. ',"path":' .. jstr(name)
    end
  elseif tc == "?net" then
    parts = ',"kind":"net"'
    local cip, cport, sip, sport = split_tuple(tuple)
    if cip ~= nil then
      parts = parts .. ',"cip":' .. jstr(cip) .. ',"cport":' .. jint(cport) .. ',"sip":' .. jstr(sip)
        .. ',"sport":' .. jint(sport)
    else
      parts = parts .. ',"path":' .. jstr(tuple)
    end
  elseif tc == "u" then
    -- "<local>-><peer> <path>": the socket's path is what identifies it to a user.
    local path = name:match("^%S*%->%S* (.*)$") or name
    parts = ',"kind":"unix","path":' .. jstr(path)
  elseif tc == "p" then
    parts = ',"kind":"pipe","path":' .. jstr(name)
  else
    parts = ',"kind":"other","path":' .. jstr(name)
  end

  e = { fd = fdnum, parts = parts, bin = 0, bout = 0, opens = 0, ops = 0 }
  st.fds[key] = e
  st.nfd = st.nfd + 1
  st.fdlist[st.nfd] = e
  return e
end

local OPENS = { open = true, openat = true, openat2 = true, creat = true }
local ACCEPTS = { accept = true, accept4 = true }
local EXECS = { execve = true, execveat = true }
local CLONES = { clone = true, clone3 = true, fork = true, vfork = true }

-- ---------------------------------------------------------------------------------------------------------------
-- Interval flush.

local function flush(end_us)
  local ts = jms(end_us)
  for i = 1, ndirty do
    local st = dirty[i]
    local head = '","ts":' .. ts .. ',"pid":' .. jint(st.pid) .. ',"start":' .. st.start_ms
    if st.cpu_ticks > 0 or st.run_ns > 0 then
      emit('{"v":1,"t":"cpu' .. head .. ',"cpu_ns":' .. jint(st.cpu_ticks * NS_PER_TICK)
        .. ',"run_ns":' .. jint(st.run_ns) .. "}")
    end
    for j = 1, st.nfd do
      local e = st.fdlist[j]
      emit('{"v":1,"t":"io' .. head .. ',"fd":' .. jint(e.fd) .. e.parts .. ',"bytes_in":' .. jint(e.bin)
        .. ',"bytes_out":' .. jint(e.bout) .. ',"opens":' .. jint(e.opens) .. ',"ops":' .. jint(e.ops) .. "}")
    end
    for j = 1, st.nerr do
      local e = st.errlist[j]
      emit('{"v":1,"t":"err' .. head .. ',"syscall":' .. jstr(e.syscall) .. ',"errno":' .. jstr(e.errno)
        .. ',"count":' .. jint(e.count) .. "}")
    end
    st.cpu_ticks, st.run_ns = 0, 0
    st.fds, st.fdlist, st.nfd = {}, {}, 0
    st.errs, st.errlist, st.nerr = {}, {}, 0
    st.dirty = false
  end
  dirty, ndirty = {}, 0
  exited = {}
  local dt = 0
  if interval_us ~= nil and end_us > interval_us then dt = end_us - interval_us end
  emit('{"v":1,"t":"tick","ts":' .. ts .. ',"dt_ms":' .. jms(dt) .. ',"events":' .. jint(interval_events) .. "}")
  interval_events = 0
  interval_us = end_us
  write_out()
end

-- ---------------------------------------------------------------------------------------------------------------
-- Chisel callbacks.

function on_set_arg(name, val)
  if name == "interval_ms" then
    local n = tonumber(val)
    if n == nil or n ~= floor(n) or n < 10 then
      io.stderr:write("bubble.lua: interval_ms must be a whole number of milliseconds >= 10, not '"
        .. tostring(val) .. "'\n")
      return false
    end
    interval_ms = n
    return true
  end
  return false
end

function on_init()
  for _, name in ipairs(FIELD_NAMES) do
    F[name] = chisel.request_field(name)
  end
  -- Only what the records need reaches Lua: exits of I/O, failed, open, connect, accept, exec and clone calls, plus
  -- procinfo (CPU ticks), switch (run time), procexit, and the enter of sendto/sendmsg (their destination).
  chisel.set_filter("(evt.dir='<' and (evt.is_io=true or evt.failed=true or evt.type in (open,openat,openat2,creat,"
    .. "connect,accept,accept4,execve,execveat,clone,clone3,fork,vfork))) "
    .. "or evt.type in (procinfo,switch,procexit) or (evt.dir='>' and evt.type in (sendto,sendmsg))")
  chisel.set_interval_ns(interval_ms * 1000000)
  return true
end

-- from_start: sysdig only answers get_machine_info inside on_capture_start. When the capture cannot start (no driver),
-- hello still comes first, from on_capture_end, without the machine's facts.
local function say_hello(from_start)
  if hello_done then return end
  hello_done = true
  local host, ncpu = "", 0
  local mi = from_start and sysdig.get_machine_info()
  if mi then
    host = mi.hostname or ""
    ncpu = mi.num_cpus or 0
  end
  emit('{"v":1,"t":"hello","ts":' .. jms(os.time() * 1000000) .. ',"bridge":"bubble.lua","bridge_version":"'
    .. BRIDGE_VERSION .. '","protocol":' .. PROTOCOL .. ',"live":' .. (sysdig.is_live() and "true" or "false")
    .. ',"interval_ms":' .. jint(interval_ms) .. ',"host":' .. jstr(host) .. ',"ncpu":' .. jint(ncpu) .. "}")
  write_out()
end

function on_capture_start()
  say_hello(true)
  return true
end

function on_event()
  events = events + 1
  interval_events = interval_events + 1
  local s, ns = evt.get_ts()
  local ts_us = us_of(s, ns)
  last_us = ts_us
  if interval_us == nil then interval_us = ts_us end
  local pid = field("proc.pid")
  if pid == nil then return true end
  local tid = field("thread.tid") or pid
  local etype = evt.get_type()

  if etype == "procinfo" then
    local c = field("thread.cpu")
    if c ~= nil and c > 0 then
      local st = lookup(pid, tid, ts_us, false)
      st.cpu_ticks = st.cpu_ticks + c
      touch(st)
    end
    return true
  elseif etype == "switch" then
    -- Read on every switch: sysdig derives exectime from the previous switch on the same CPU.
    local x = field("thread.exectime")
    if x ~= nil and x > 0 then
      local st = lookup(pid, tid, ts_us, false)
      st.run_ns = st.run_ns + x
      touch(st)
    end
    return true
  elseif etype == "procexit" then
    if tid == pid then
      local st = lookup(pid, tid, ts_us, false)
      local status = field("evt.rawarg.status")
      emit('{"v":1,"t":"exit","ts":' .. jms(ts_us) .. ',"pid":' .. jint(pid) .. ',"start":' .. st.start_ms
        .. ',"status":' .. jint(status or -1) .. "}")
      procs[pid] = nil
      exited[pid] = st
    end
    pending_tuple[tid] = nil
    return true
  end

  if field("evt.dir") == ">" then
    -- sendto/sendmsg enter: remember where the data goes for an fd that has no name.
    local tuple = field("evt.arg.tuple")
    if tuple ~= nil and tuple ~= "NULL" and tuple ~= "" then
      pending_tuple[tid] = tuple
    else
      pending_tuple[tid] = nil
    end
    return true
  end

  local res = field("evt.rawres")
  if CLONES[etype] and res == 0 and tid == pid then
    -- The child side of a fork: a new process even if an older one with this pid was never seen to exit.
    local old = procs[pid]
    if old ~= nil then procs[pid] = nil end
    exited[pid] = nil
  end
  local st = lookup(pid, tid, ts_us, EXECS[etype] == true and res == 0)

  if field("evt.failed") then
    local errno = known(field("evt.res"))
    local key = etype .. "\0" .. errno
    local e = st.errs[key]
    if e == nil then
      e = { syscall = etype, errno = errno, count = 0 }
      st.errs[key] = e
      st.nerr = st.nerr + 1
      st.errlist[st.nerr] = e
    end
    e.count = e.count + 1
    touch(st)
  end

  local is_read, is_write = field("evt.is_io_read"), field("evt.is_io_write")
  if is_read or is_write then
    local fdnum = field("fd.num")
    local sends = etype == "sendto" or etype == "sendmsg"
    if res ~= nil and res >= 0 and fdnum ~= nil and fdnum >= 0 then
      local e = fd_entry(st, fdnum, nil, sends and pending_tuple[tid] or nil)
      e.ops = e.ops + 1
      if is_read then e.bin = e.bin + res else e.bout = e.bout + res end
      touch(st)
    end
    if sends then pending_tuple[tid] = nil end
  elseif res ~= nil and ((OPENS[etype] and res >= 0) or (ACCEPTS[etype] and res >= 0)
      or (etype == "connect" and (res == 0 or res == EINPROGRESS))) then
    local fdnum = field("fd.num")
    if fdnum ~= nil and fdnum >= 0 then
      local role = nil
      if etype == "connect" then role = "client" elseif ACCEPTS[etype] then role = "server" end
      local e = fd_entry(st, fdnum, role, nil)
      e.opens = e.opens + 1
      touch(st)
    end
  end
  return true
end

function on_interval(ts_s, ts_ns, delta)
  -- With -r the first call comes at the first event, with delta 0 and nothing to say.
  if delta == 0 and ndirty == 0 and nout == 0 then return true end
  flush(us_of(ts_s, ts_ns))
  return true
end

function on_capture_end(ts_s, ts_ns, delta)
  say_hello(false)
  local end_us = last_us or us_of(ts_s, ts_ns)
  if ndirty > 0 or interval_events > 0 then flush(end_us) end
  emit('{"v":1,"t":"end","ts":' .. jms(end_us) .. ',"events":' .. jint(events) .. ',"records":' .. jint(records)
    .. "}")
  write_out()
  return true
end

-- The encoder, reachable from a chisel that loads this file with dofile(): bubble's tests run it inside sysdig's own
-- LuaJIT (test/fixtures/sysdig/json-selftest.lua) on strings no capture holds.
bubble_bridge = { json_string = jstr, json_ms = jms, split_tuple = split_tuple }
