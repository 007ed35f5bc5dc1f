/**
 * Static host facts (src/collectors/host-facts.ts) against the tools that report them on this host (lscpu, uname,
 * systemd-detect-virt, a shell sourcing os-release), through `ls --json` of the real bundle; and, in copies of / that
 * hold what this host cannot show (DMI of other hypervisors, other container managers, other architectures), the
 * rules that map files to names.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readHostFacts } from '../../src/collectors/host-facts.js';
import { bubble } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

function tool(command: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (error) {
    // systemd-detect-virt exits 1 with "none".
    const out = (error as { stdout?: string }).stdout;
    return typeof out === 'string' && out.trim() !== '' ? out.trim() : undefined;
  }
}

describe('host facts on this host', () => {
  const facts = readHostFacts();

  it('match lscpu, uname -r and os-release as a shell reads it', () => {
    expect(facts.kernel).toBe(tool('uname', ['-r']));
    const lscpu = tool('lscpu', []);
    const model = /^Model name:\s*(.+)$/m.exec(lscpu ?? '')?.[1];
    if (model !== undefined) expect(facts.cpuModel).toBe(model);
    const release = tool('sh', ['-c', '. /etc/os-release 2>/dev/null || . /usr/lib/os-release; printf "%s|%s" "$NAME" "$VERSION_ID"']);
    expect(`${facts.osName}|${facts.osVersion}`).toBe(release);
  });

  it('name the container and the hypervisor as systemd-detect-virt does', (ctx) => {
    const container = tool('systemd-detect-virt', ['--container']);
    const vm = tool('systemd-detect-virt', ['--vm']);
    // A cross-check, not a part bubble needs (the rules are also tested on the copies below): CI installs it.
    needReal(ctx, 'systemd-detect-virt', container !== undefined && vm !== undefined, 'apt-get install systemd');
    if (container === undefined || vm === undefined) return;
    expect(facts.container ?? 'none').toBe(container);
    expect(facts.vm === undefined, `bubble: ${facts.vm}, systemd: ${vm}`).toBe(vm === 'none');
    // systemd asks CPUID, which Node cannot: where the files name no vendor bubble says 'unknown'.
    if (facts.vm !== 'unknown') expect(facts.vm ?? 'none').toBe(vm);
  });

  it('ls --json carries them as its host object', async () => {
    const run = await bubble(['ls', '--all', '--json', '--interval', '0.2']);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { host: Record<string, unknown>; containers: Record<string, unknown>[] };
    expect(json.host).toEqual({
      hostname: facts.hostname,
      cpu_model: facts.cpuModel ?? null,
      os_name: facts.osName ?? null,
      os_version: facts.osVersion ?? null,
      kernel: facts.kernel,
      arch: facts.arch,
      container: facts.container ?? null,
      vm: facts.vm ?? null,
    });
    expect(json.containers.some((c) => c['key'] === 'host')).toBe(true);
  });
});

describe('host facts from other machines', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  function machine(files: Record<string, string>): string {
    const root = mkdtempSync(path.join(tmpdir(), 'bubble-host-'));
    roots.push(root);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    }
    return root;
  }

  const X86 = 'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6248\nflags\t\t: fpu vme hypervisor lahf_lm\n\n';
  const METAL = X86.replace(' hypervisor', '');

  it('DMI names the hypervisor', () => {
    expect(readHostFacts(machine({ 'proc/cpuinfo': X86, 'sys/class/dmi/id/sys_vendor': 'QEMU\n' })).vm).toBe('qemu');
    const qemuKvm = {
      'proc/cpuinfo': X86,
      'sys/class/dmi/id/sys_vendor': 'QEMU\n',
      'sys/devices/system/clocksource/clocksource0/available_clocksource': 'kvm-clock tsc\n',
    };
    expect(readHostFacts(machine(qemuKvm)).vm).toBe('kvm');
    expect(readHostFacts(machine({ 'proc/cpuinfo': X86, 'sys/class/dmi/id/product_name': 'VMware Virtual Platform\n' })).vm).toBe('vmware');
    expect(readHostFacts(machine({ 'proc/cpuinfo': X86, 'sys/class/dmi/id/sys_vendor': 'Amazon EC2\n' })).vm).toBe('amazon');
    const hyperv = { 'proc/cpuinfo': X86, 'sys/class/dmi/id/sys_vendor': 'Microsoft Corporation\n', 'sys/class/dmi/id/product_name': 'Virtual Machine\n' };
    expect(readHostFacts(machine(hyperv)).vm).toBe('microsoft');
  });

  it('a Microsoft laptop is bare metal; a virtual CPU with no vendor anywhere is "unknown"', () => {
    const surface = { 'proc/cpuinfo': METAL, 'sys/class/dmi/id/sys_vendor': 'Microsoft Corporation\n', 'sys/class/dmi/id/product_name': 'Surface Laptop 5\n' };
    expect(readHostFacts(machine(surface)).vm).toBeUndefined();
    expect(readHostFacts(machine({ 'proc/cpuinfo': X86 })).vm).toBe('unknown');
    expect(readHostFacts(machine({ 'proc/cpuinfo': X86, 'sys/devices/system/clocksource/clocksource0/available_clocksource': 'tsc kvm-clock \n' })).vm).toBe(
      'kvm',
    );
  });

  it('container managers, in systemd-detect-virt order', () => {
    expect(readHostFacts(machine({ 'run/systemd/container': 'systemd-nspawn\n', '.dockerenv': '' })).container).toBe('systemd-nspawn');
    expect(readHostFacts(machine({ 'proc/1/environ': 'PATH=/bin\0container=lxc\0' })).container).toBe('lxc');
    expect(readHostFacts(machine({ 'run/.containerenv': '', '.dockerenv': '' })).container).toBe('podman');
    expect(readHostFacts(machine({ '.dockerenv': '' })).container).toBe('docker');
    expect(readHostFacts(machine({})).container).toBeUndefined();
  });

  it('the CPU model under each architecture key, and os-release quoting', () => {
    const ppc = readHostFacts(machine({ 'proc/cpuinfo': 'processor\t: 0\ncpu\t\t: POWER9, altivec supported\nclock\t\t: 2300MHz\n' }));
    expect(ppc.cpuModel).toBe('POWER9, altivec supported');
    const noModel = readHostFacts(machine({ 'proc/cpuinfo': 'processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n' }));
    expect(noModel.cpuModel).toBeUndefined();
    const fedora = readHostFacts(machine({ 'usr/lib/os-release': "NAME='Fedora Linux'\nVERSION_ID=40\n" }));
    expect([fedora.osName, fedora.osVersion]).toEqual(['Fedora Linux', '40']);
  });
});
