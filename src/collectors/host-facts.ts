/**
 * The host's static facts: CPU model, OS, kernel, virtualisation. Read once (hostFacts() memoizes), never per tick,
 * from a few small files in /proc, /sys and /etc: no process is spawned, so reading them cannot delay a first frame.
 *
 * systeminformation was the declared way to get these and was removed: its cpu(), osInfo() and system() start about
 * a dozen shells per call (lscpu twice, dmidecode twice, dmesg twice, hostname, ip, cat), four of them with execSync,
 * which blocks the event loop, and they take ~200 ms together; and on this very host it reported the VM as a "Docker
 * Container" model. The same facts come from the files those tools read.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface HostFacts {
  readonly hostname: string;
  /** /proc/cpuinfo's model name ("AMD EPYC 7B13"); undefined where the kernel gives none (some ARM boards). */
  readonly cpuModel: string | undefined;
  /** os-release NAME and VERSION_ID: "Debian GNU/Linux", "12". */
  readonly osName: string | undefined;
  readonly osVersion: string | undefined;
  /** uname -r. */
  readonly kernel: string;
  /** uname -m style: x64, arm64 (Node's names). */
  readonly arch: string;
  /** The container manager bubble itself runs under (docker, podman, lxc, systemd-nspawn, ...); undefined if none. */
  readonly container: string | undefined;
  /** The hypervisor of the VM bubble runs in (kvm, qemu, vmware, xen, microsoft, oracle, amazon, google...), 'unknown'
   *  when the CPU says it is virtual but nothing readable names the vendor, undefined on bare metal. */
  readonly vm: string | undefined;
}

function read(root: string, file: string): string | undefined {
  try {
    return readFileSync(path.join(root, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** The first processor's block is all that is needed: on a 256-core host the whole file is ~1 MB of repeats. */
function readHead(root: string, file: string, bytes: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path.join(root, file), 'r');
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, 0);
    const text = buffer.toString('utf8', 0, n);
    // Cut at the first blank line (the end of processor 0), so no half line is parsed.
    const end = text.indexOf('\n\n');
    return end === -1 ? text : text.slice(0, end + 1);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `KEY=value` or `KEY="value"` lines (os-release(5)). */
function osRelease(root: string): Map<string, string> {
  const text = read(root, 'etc/os-release') ?? read(root, 'usr/lib/os-release') ?? '';
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return out;
}

/** The first processor's model, under the key its architecture uses (x86 "model name", ppc "cpu", mips "cpu model"). */
function cpuModel(cpuinfo: string): string | undefined {
  const fields = new Map<string, string>();
  for (const line of cpuinfo.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  for (const key of ['model name', 'Model', 'cpu model', 'cpu', 'Hardware', 'Processor']) {
    const value = fields.get(key);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** As systemd-detect-virt --container decides it, in its order. */
function container(root: string): string | undefined {
  const named = (read(root, 'run/systemd/container') ?? read(root, 'run/host/container-manager'))?.trim();
  if (named) return named;
  // PID 1's environment is root-only; where readable it is what systemd itself trusts.
  const environ = read(root, 'proc/1/environ');
  const fromEnv = environ
    ?.split('\0')
    .find((v) => v.startsWith('container='))
    ?.slice('container='.length);
  if (fromEnv) return fromEnv;
  if (existsSync(path.join(root, 'run/.containerenv'))) return 'podman';
  if (existsSync(path.join(root, '.dockerenv'))) return 'docker';
  if (existsSync(path.join(root, 'proc/vz')) && !existsSync(path.join(root, 'proc/bc'))) return 'openvz';
  return undefined;
}

/** DMI vendor strings -> systemd-detect-virt's names. */
const DMI_VENDORS: readonly (readonly [RegExp, string])[] = [
  [/^KVM/, 'kvm'],
  [/^(QEMU|Bochs)/, 'qemu'],
  [/^VMware/, 'vmware'],
  [/^(innotek GmbH|Oracle Corporation|VirtualBox)/, 'oracle'],
  [/^Xen/, 'xen'],
  [/^Amazon EC2/, 'amazon'],
  [/^Google/, 'google'],
  [/^Parallels/, 'parallels'],
  [/^Microsoft Corporation/, 'microsoft'],
  [/^(OpenStack|Nutanix)/, 'kvm'],
];

/** Paravirtual clock sources -> hypervisor. */
const CLOCKSOURCES: readonly (readonly [RegExp, string])[] = [
  [/\bkvm-clock\b/, 'kvm'],
  [/\bhyperv_clocksource/, 'microsoft'],
  [/\bxen\b/, 'xen'],
  [/\bvmware\b/i, 'vmware'],
];

function clockVendor(root: string): string | undefined {
  const clocks = read(root, 'sys/devices/system/clocksource/clocksource0/available_clocksource') ?? '';
  return CLOCKSOURCES.find(([pattern]) => pattern.test(clocks))?.[1];
}

function vm(root: string, cpuinfo: string): string | undefined {
  for (const file of ['product_name', 'sys_vendor', 'board_vendor', 'bios_vendor']) {
    const value = read(root, `sys/class/dmi/id/${file}`)?.trim();
    if (value === undefined) continue;
    // Hyper-V hosts bare-metal Windows machines too: only its "Virtual Machine" product is a VM.
    if (value.startsWith('Microsoft Corporation') && read(root, 'sys/class/dmi/id/product_name')?.trim() !== 'Virtual Machine') continue;
    const hit = DMI_VENDORS.find(([pattern]) => pattern.test(value));
    // QEMU accelerated by KVM is KVM (systemd-detect-virt asks CPUID and says so); its paravirtual clock tells.
    if (hit?.[1] === 'qemu' && clockVendor(root) === 'kvm') return 'kvm';
    if (hit) return hit[1];
  }
  const hypervisor = read(root, 'sys/hypervisor/type')?.trim();
  if (hypervisor) return hypervisor;
  if (!/^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)) return undefined;
  // Without DMI (Firecracker, some clouds) the guest's paravirtual clock still names the hypervisor; lscpu and
  // systemd-detect-virt ask CPUID, which Node cannot.
  return clockVendor(root) ?? 'unknown';
}

/** Reads the facts under `root` (a copy of / in tests); kernel, arch and hostname are this machine's. */
export function readHostFacts(root = '/'): HostFacts {
  const cpuinfo = readHead(root, 'proc/cpuinfo', 16 * 1024) ?? '';
  const release = osRelease(root);
  return {
    hostname: os.hostname(),
    cpuModel: cpuModel(cpuinfo),
    osName: release.get('NAME'),
    osVersion: release.get('VERSION_ID') ?? release.get('VERSION'),
    kernel: os.release(),
    arch: os.arch(),
    container: container(root),
    vm: vm(root, cpuinfo),
  };
}

let cached: HostFacts | undefined;

/** This host's facts, read on first use. */
export function hostFacts(): HostFacts {
  cached ??= readHostFacts();
  return cached;
}
