/**
 * identity.ts: a table of cgroup paths for every runtime pattern in spec/cgroups.md section 1 (Kubernetes and the
 * other runtimes are not installed here, so their paths are fixtures), /proc/PID/cgroup parsing incl. malformed input,
 * membership resolution on hybrid and Slurm layouts, and the real /proc/self/cgroup. A real Docker container's
 * identity is tested in test/integration/docker-cli.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { identifyPath, parseProcCgroup, resolveMembership, unescapeUnitName, type CgroupMembership } from '../../src/collectors/identity.js';
import { HOST_IDENTITY, type Identity } from '../../src/model/identity.js';

const ID = '3f4c9a1b2d8e7f60a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2';
const ID2 = '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d';
const POD = 'b1a2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SHORT = ID.slice(0, 12);
const UID = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const UID_ = UID.replaceAll('-', '_');
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

const host: Identity = HOST_IDENTITY;
const docker = (cgroup: string): Identity => ({ kind: 'docker', id: ID, name: SHORT, cgroup });
const k8s = (cgroup: string, parent = UID): Identity => ({ kind: 'kubernetes', id: ID, name: SHORT, parent, cgroup });
const k8sPod = (cgroup: string): Identity => ({
  kind: 'kubernetes',
  id: `pod${UID}`,
  name: 'pod 0a1b2c3d',
  parent: UID,
  cgroup,
});
const podman = (cgroup: string, parent?: string): Identity =>
  parent === undefined ? { kind: 'podman', id: ID, name: SHORT, cgroup } : { kind: 'podman', id: ID, name: SHORT, parent, cgroup };
const lxc = (name: string, cgroup: string): Identity => ({ kind: 'lxc', id: name, name, cgroup });
const nspawn = (name: string, cgroup: string): Identity => ({ kind: 'nspawn', id: name, name, cgroup });
const slurm = (id: string, cgroup: string, extra: Partial<Identity> = {}): Identity => ({
  kind: 'slurm',
  id,
  name: `job ${id}`,
  cgroup,
  ...extra,
});

const KP_SD = '/kubepods.slice';
const KP_BURST = `${KP_SD}/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`;
const KP_BEST = `${KP_SD}/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`;
const KP_GUAR = `${KP_SD}/kubepods-pod${UID_}.slice`;
const USER_SVC = '/user.slice/user-1000.slice/user@1000.service';
const SLURMV2 = '/system.slice/slurmstepd.scope';

/** [description, path, expected identity] */
const TABLE: ReadonlyArray<readonly [string, string, Identity]> = [
  // Docker
  ['docker cgroupfs', `/docker/${ID}`, docker(`/docker/${ID}`)],
  ['docker cgroupfs, systemd inside the container', `/docker/${ID}/system.slice/cron.service`, docker(`/docker/${ID}`)],
  ['docker systemd driver', `/system.slice/docker-${ID}.scope`, docker(`/system.slice/docker-${ID}.scope`)],
  ['docker systemd driver, crun /container leaf', `/system.slice/docker-${ID}.scope/container`, docker(`/system.slice/docker-${ID}.scope`)],
  ['docker custom systemd slice', `/ci.slice/ci-runners.slice/docker-${ID}.scope`, docker(`/ci.slice/ci-runners.slice/docker-${ID}.scope`)],
  ['docker rootless', `${USER_SVC}/docker-${ID}.scope`, docker(`${USER_SVC}/docker-${ID}.scope`)],
  ['docker-in-docker: the outer container owns it', `/docker/${ID}/docker/${ID2}`, docker(`/docker/${ID}`)],
  ['generic fallback: custom cgroupfs parent', `/my-parent/${ID}`, docker(`/my-parent/${ID}`)],
  ['generic fallback: custom parent, crun /container leaf', `/ci/jobs/${ID}/container`, docker(`/ci/jobs/${ID}`)],
  ['generic fallback: unknown scope prefix', `/custom.slice/runner-${ID}.scope`, docker(`/custom.slice/runner-${ID}.scope`)],
  ['*.mount with an id in its name is skipped', `/system.slice/var-lib-docker-overlay2-${ID}-merged.mount`, host],
  ['*.mount of a container netns is skipped', `/system.slice/run-docker-netns-${ID}.mount`, host],
  ['a 128-hex basename is not an id', `/x/${ID}${ID2}`, host],
  ['dockerd itself is host', '/system.slice/docker.service', host],

  // Kubernetes, systemd driver: all three QoS classes and every leaf form
  ['k8s systemd burstable containerd', `${KP_BURST}/cri-containerd-${ID}.scope`, k8s(`${KP_BURST}/cri-containerd-${ID}.scope`)],
  ['k8s systemd besteffort crio', `${KP_BEST}/crio-${ID}.scope`, k8s(`${KP_BEST}/crio-${ID}.scope`)],
  ['k8s systemd guaranteed containerd', `${KP_GUAR}/cri-containerd-${ID}.scope`, k8s(`${KP_GUAR}/cri-containerd-${ID}.scope`)],
  ['k8s systemd dockershim leaf', `${KP_BURST}/docker-${ID}.scope`, k8s(`${KP_BURST}/docker-${ID}.scope`)],
  ['k8s systemd crio with crun /container leaf', `${KP_BEST}/crio-${ID}.scope/container`, k8s(`${KP_BEST}/crio-${ID}.scope`)],
  // Kubernetes, cgroupfs driver
  ['k8s cgroupfs burstable', `/kubepods/burstable/pod${UID}/${ID}`, k8s(`/kubepods/burstable/pod${UID}/${ID}`)],
  ['k8s cgroupfs besteffort', `/kubepods/besteffort/pod${UID}/${ID}`, k8s(`/kubepods/besteffort/pod${UID}/${ID}`)],
  ['k8s cgroupfs guaranteed', `/kubepods/pod${UID}/${ID}`, k8s(`/kubepods/pod${UID}/${ID}`)],
  ['k8s cgroupfs crio leaf', `/kubepods/burstable/pod${UID}/crio-${ID}`, k8s(`/kubepods/burstable/pod${UID}/crio-${ID}`)],
  ['k8s custom kubelet cgroup root', `/k8s-root/kubepods/burstable/pod${UID}/${ID}`, k8s(`/k8s-root/kubepods/burstable/pod${UID}/${ID}`)],
  // Static pods: md5 UID, no dashes to escape
  ['k8s static pod cgroupfs', `/kubepods/burstable/pod${MD5}/${ID}`, k8s(`/kubepods/burstable/pod${MD5}/${ID}`, MD5)],
  [
    'k8s static pod systemd',
    `${KP_SD}/kubepods-burstable.slice/kubepods-burstable-pod${MD5}.slice/cri-containerd-${ID}.scope`,
    k8s(`${KP_SD}/kubepods-burstable.slice/kubepods-burstable-pod${MD5}.slice/cri-containerd-${ID}.scope`, MD5),
  ],
  // Pod level: no container leaf, or CRI-O's conmon (conmon_cgroup=pod)
  ['k8s pod dir itself (systemd)', KP_BURST, k8sPod(KP_BURST)],
  ['k8s pod dir itself (cgroupfs)', `/kubepods/pod${UID}`, k8sPod(`/kubepods/pod${UID}`)],
  ['crio-conmon in a pod belongs to the pod', `${KP_BURST}/crio-conmon-${ID}.scope`, k8sPod(KP_BURST)],
  ['kubepods slices without a pod are host', `${KP_SD}/kubepods-burstable.slice`, host],

  // containerd and CRI-O outside Kubernetes
  [
    'containerd outside k8s',
    `/system.slice/cri-containerd-${ID}.scope`,
    { kind: 'containerd', id: ID, name: SHORT, cgroup: `/system.slice/cri-containerd-${ID}.scope` },
  ],
  [
    'containerd outside k8s, crun /container leaf',
    `/system.slice/cri-containerd-${ID}.scope/container`,
    { kind: 'containerd', id: ID, name: SHORT, cgroup: `/system.slice/cri-containerd-${ID}.scope` },
  ],
  ['crio outside k8s (systemd)', `/system.slice/crio-${ID}.scope`, { kind: 'crio', id: ID, name: SHORT, cgroup: `/system.slice/crio-${ID}.scope` }],
  ['crio outside k8s (cgroupfs)', `/crio-${ID}`, { kind: 'crio', id: ID, name: SHORT, cgroup: `/crio-${ID}` }],
  ['crio-conmon outside a pod is host', `/system.slice/crio-conmon-${ID}.scope`, host],
  ['crio-conmon cgroupfs outside a pod is host', `/crio-conmon-${ID}`, host],

  // Podman
  ['podman rootful systemd', `/machine.slice/libpod-${ID}.scope`, podman(`/machine.slice/libpod-${ID}.scope`)],
  ['podman rootful, crun /container leaf', `/machine.slice/libpod-${ID}.scope/container`, podman(`/machine.slice/libpod-${ID}.scope`)],
  ['podman cgroupfs', `/libpod_parent/libpod-${ID}`, podman(`/libpod_parent/libpod-${ID}`)],
  ['podman rootless', `${USER_SVC}/user.slice/libpod-${ID}.scope`, podman(`${USER_SVC}/user.slice/libpod-${ID}.scope`)],
  ['podman rootless, /container leaf', `${USER_SVC}/user.slice/libpod-${ID}.scope/container`, podman(`${USER_SVC}/user.slice/libpod-${ID}.scope`)],
  [
    'podman pod (rootful)',
    `/machine.slice/machine-libpod_pod_${POD}.slice/libpod-${ID}.scope/container`,
    podman(`/machine.slice/machine-libpod_pod_${POD}.slice/libpod-${ID}.scope`, POD),
  ],
  [
    'podman pod (rootless)',
    `${USER_SVC}/user.slice/user-libpod_pod_${POD}.slice/libpod-${ID}.scope`,
    podman(`${USER_SVC}/user.slice/user-libpod_pod_${POD}.slice/libpod-${ID}.scope`, POD),
  ],
  ['podman pod (cgroupfs)', `/libpod_parent/${POD}/libpod-${ID}`, podman(`/libpod_parent/${POD}/libpod-${ID}`, POD)],
  ['podman cgroups=split payload: the unit is the container dir', `/system.slice/web.service/libpod-payload-${ID}`, podman('/system.slice/web.service')],
  ['podman cgroups=split supervisor (conmon) is host', '/system.slice/web.service/supervisor', host],
  ['podman conmon (systemd) is host', `/machine.slice/libpod-conmon-${ID}.scope`, host],
  ['podman rootless conmon is host', `${USER_SVC}/user.slice/libpod-conmon-${ID}.scope`, host],
  ['podman conmon (cgroupfs /conmon) is host', '/libpod_parent/conmon', host],
  ['podman conmon of a cgroupfs pod is host', `/libpod_parent/${POD}/conmon`, host],
  ['podman conmon inside a pod slice is host', `/machine.slice/machine-libpod_pod_${POD}.slice/libpod-conmon-${ID}.scope`, host],
  ['podman pod slice itself is host', `/machine.slice/machine-libpod_pod_${POD}.slice`, host],

  // LXC
  ['lxc payload', '/lxc.payload.web', lxc('web', '/lxc.payload.web')],
  ['lxc payload, systemd inside', '/lxc.payload.web/system.slice/cron.service', lxc('web', '/lxc.payload.web')],
  ['lxc payload with lxc.cgroup.dir', '/lxc-dir/sub/lxc.payload.web', lxc('web', '/lxc-dir/sub/lxc.payload.web')],
  ['lxc payload with lxc.cgroup.dir=lxc', '/lxc/lxc.payload.web', lxc('web', '/lxc/lxc.payload.web')],
  ['lxc retry suffix stays in the name', '/lxc.payload.web-1', lxc('web-1', '/lxc.payload.web-1')],
  ['lxc name with dots', '/lxc.payload.my.box', lxc('my.box', '/lxc.payload.my.box')],
  ['lxc legacy /lxc/<name>', '/lxc/web', lxc('web', '/lxc/web')],
  ['lxc legacy with lxc.cgroup.pattern payload leaf', '/lxc/web/payload/init.scope', lxc('web', '/lxc/web')],
  ['lxc monitor is host', '/lxc.monitor.web', host],
  ['lxc monitor under lxc.cgroup.dir=lxc is host', '/lxc/lxc.monitor.web', host],
  ['lxc legacy only at the root', '/system.slice/lxc/web', host],

  // systemd-nspawn / machined
  ['nspawn machine', '/machine.slice/machine-debian.scope', nspawn('debian', '/machine.slice/machine-debian.scope')],
  ['nspawn escaped name', '/machine.slice/machine-my\\x2dvm.scope', nspawn('my-vm', '/machine.slice/machine-my\\x2dvm.scope')],
  [
    'nspawn /payload leaf',
    '/machine.slice/machine-my\\x2dvm.scope/payload/system.slice/cron.service',
    nspawn('my-vm', '/machine.slice/machine-my\\x2dvm.scope'),
  ],
  ['nspawn /supervisor leaf', '/machine.slice/machine-my\\x2dvm.scope/supervisor', nspawn('my-vm', '/machine.slice/machine-my\\x2dvm.scope')],
  ['nspawn UTF-8 escaped name', '/machine.slice/machine-caf\\xc3\\xa9.scope', nspawn('café', '/machine.slice/machine-caf\\xc3\\xa9.scope')],
  [
    'libvirt VM scope',
    '/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/vcpu0',
    nspawn('qemu-1-vm1', '/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope'),
  ],
  [
    'nspawn --keep-unit service',
    '/system.slice/system-systemd\\x2dnspawn.slice/systemd-nspawn@box.service/payload',
    nspawn('box', '/system.slice/system-systemd\\x2dnspawn.slice/systemd-nspawn@box.service'),
  ],
  ['machine-*.scope outside machine.slice is host', '/system.slice/machine-foo.scope', host],

  // Slurm v1
  ['slurm v1 job', '/slurm/uid_1000/job_42', slurm('42', '/slurm/uid_1000/job_42', { uid: 1000 })],
  ['slurm v1 task', '/slurm/uid_1000/job_42/step_0/task_3', slurm('42', '/slurm/uid_1000/job_42', { uid: 1000, step: '0', task: '3' })],
  ['slurm v1 batch', '/slurm/uid_0/job_1/step_batch/task_0', slurm('1', '/slurm/uid_0/job_1', { uid: 0, step: 'batch', task: '0' })],
  ['slurm v1 extern', '/slurm/uid_0/job_1/step_extern', slurm('1', '/slurm/uid_0/job_1', { uid: 0, step: 'extern' })],
  ['slurm v1 interactive', '/slurm/uid_0/job_1/step_interactive/task_0', slurm('1', '/slurm/uid_0/job_1', { uid: 0, step: 'interactive', task: '0' })],
  ['slurm v1 +het step', '/slurm/uid_0/job_7/step_0+1/task_2', slurm('7', '/slurm/uid_0/job_7', { uid: 0, step: '0+1', task: '2' })],
  [
    'slurm v1 slurm_<node>',
    '/slurm_node01/uid_0/job_1/step_batch/task_0',
    slurm('1', '/slurm_node01/uid_0/job_1', { uid: 0, step: 'batch', task: '0', node: 'node01' }),
  ],
  ['slurm v1 node with underscore', '/slurm_rack_1/uid_5/job_9', slurm('9', '/slurm_rack_1/uid_5/job_9', { uid: 5, node: 'rack_1' })],
  ['slurm v1 /slurm/system is slurmd', '/slurm/system', host],
  ['slurm v1 root dir is host', '/slurm', host],
  ['slurm v1 uid dir without job is host', '/slurm/uid_0', host],

  // Slurm v2
  ['slurm v2 job', `${SLURMV2}/job_42`, slurm('42', `${SLURMV2}/job_42`)],
  ['slurm v2 user task', `${SLURMV2}/job_42/step_0/user/task_1`, slurm('42', `${SLURMV2}/job_42`, { step: '0', task: '1' })],
  ['slurm v2 slurmstepd dir', `${SLURMV2}/job_42/step_batch/slurm`, slurm('42', `${SLURMV2}/job_42`, { step: 'batch' })],
  ['slurm v2 task_N outside user/ is not a task', `${SLURMV2}/job_42/step_0/task_1`, slurm('42', `${SLURMV2}/job_42`, { step: '0' })],
  ['slurm v2 task_special', `${SLURMV2}/job_42/step_extern/user/task_special`, slurm('42', `${SLURMV2}/job_42`, { step: 'extern', task: 'special' })],
  ['slurm v2 +het step', `${SLURMV2}/job_42/step_3+2/user/task_0`, slurm('42', `${SLURMV2}/job_42`, { step: '3+2', task: '0' })],
  [
    'slurm v2 <node>_slurmstepd.scope',
    '/system.slice/node7_slurmstepd.scope/job_42/step_0/user/task_0',
    slurm('42', '/system.slice/node7_slurmstepd.scope/job_42', { step: '0', task: '0', node: 'node7' }),
  ],
  ['slurm v2 custom CgroupSlice', '/slurm.slice/slurmstepd.scope/job_9', slurm('9', '/slurm.slice/slurmstepd.scope/job_9')],
  [
    'slurm v2 SLUID dir',
    `${SLURMV2}/sEKNKTV3WPV500/step_0/user/task_0`,
    slurm('sEKNKTV3WPV500', `${SLURMV2}/sEKNKTV3WPV500`, { sluid: 'sEKNKTV3WPV500', step: '0', task: '0' }),
  ],
  ['slurm v2 SLUID, all Crockford digits', `${SLURMV2}/s0123456789ABC`, slurm('s0123456789ABC', `${SLURMV2}/s0123456789ABC`, { sluid: 's0123456789ABC' })],
  ['slurm v2 SLUID, Crockford letters', `${SLURMV2}/sDEFGHJKMNPQRS`, slurm('sDEFGHJKMNPQRS', `${SLURMV2}/sDEFGHJKMNPQRS`, { sluid: 'sDEFGHJKMNPQRS' })],
  ['slurm v2 SLUID near-miss: lower case', `${SLURMV2}/sekNKTV3WPV500/step_0`, host],
  ['slurm v2 SLUID near-miss: I', `${SLURMV2}/sEKNKTV3WPVI00`, host],
  ['slurm v2 SLUID near-miss: L', `${SLURMV2}/sEKNKTV3WPVL00`, host],
  ['slurm v2 SLUID near-miss: O', `${SLURMV2}/sEKNKTV3WPVO00`, host],
  ['slurm v2 SLUID near-miss: U', `${SLURMV2}/sEKNKTV3WPVU00`, host],
  ['slurm v2 SLUID near-miss: 12 chars', `${SLURMV2}/sEKNKTV3WPV50`, host],
  ['slurm v2 SLUID near-miss: 14 chars', `${SLURMV2}/sEKNKTV3WPV5000`, host],
  ['slurm v2 SLUID near-miss: capital S', `${SLURMV2}/SEKNKTV3WPV500`, host],
  ['slurm v2 system/ is skipped', `${SLURMV2}/system`, host],
  ['slurm v2 scope itself is host', SLURMV2, host],
  ['slurmd is host', '/system.slice/slurmd.service', host],

  // Host and cgroup-namespace views
  ['root', '/', host],
  ['empty', '', host],
  ['user session', '/user.slice/user-1000.slice/session-3.scope', host],
  ['sshd', '/system.slice/sshd.service', host],
  ['init', '/init.scope', host],
  ['cgroupns view of an ancestor', '/..', host],
  ['cgroupns view of a sibling', '/../x', host],
  ['32-hex is not a container id', '/process_api/0f2bfdb94e82297e0b06223ff39ab771', host],
];

describe('identifyPath', () => {
  it('uses 64-hex fixture ids', () => {
    for (const id of [ID, ID2, POD]) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(TABLE)('%s: %s', (_what, path, expected) => {
    expect(identifyPath(path)).toStrictEqual(expected);
  });

  it('memoizes: the same frozen object for the same path', () => {
    const a = identifyPath(`/docker/${ID}`);
    expect(identifyPath(`/docker/${ID}`)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('stays correct past the memo bound', () => {
    // Fill the memo well beyond its cap with distinct paths, then check an early entry is still identified right.
    const first = identifyPath(`/slurm/uid_1/job_1`);
    for (let n = 2; n < 20_000; n++) identifyPath(`/slurm/uid_1/job_${n}`);
    expect(identifyPath(`/slurm/uid_1/job_1`)).toStrictEqual(first);
    expect(identifyPath(`/slurm/uid_1/job_19999`).id).toBe('19999');
  });
});

describe('unescapeUnitName', () => {
  it('turns \\xHH bytes back into UTF-8 text and leaves the rest alone', () => {
    expect(unescapeUnitName('my\\x2dvm')).toBe('my-vm');
    expect(unescapeUnitName('caf\\xc3\\xa9\\x2d1')).toBe('café-1');
    expect(unescapeUnitName('plain')).toBe('plain');
    expect(unescapeUnitName('bad\\xZZ')).toBe('bad\\xZZ');
  });
});

describe('parseProcCgroup', () => {
  const HYBRID = ['12:name=systemd:/system.slice/docker-x.scope', '11:net_cls,net_prio:/docker/a', '4:memory:/docker/a', '2:cpu,cpuacct:/', '0::/', ''].join(
    '\n',
  );

  it('splits v1 controller lists into one key per controller and keeps the v2 line apart', () => {
    expect(parseProcCgroup(HYBRID)).toStrictEqual({
      v2: '/',
      v1: {
        'name=systemd': '/system.slice/docker-x.scope',
        net_cls: '/docker/a',
        net_prio: '/docker/a',
        memory: '/docker/a',
        cpu: '/',
        cpuacct: '/',
      },
      deleted: false,
    });
  });

  it('reads a pure v2 file', () => {
    expect(parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`)).toStrictEqual({
      v2: `/system.slice/docker-${ID}.scope`,
      v1: {},
      deleted: false,
    });
  });

  it('strips a trailing " (deleted)" and sets deleted', () => {
    const m = parseProcCgroup(`4:memory:/docker/${ID} (deleted)\n0::/docker/${ID} (deleted)\n`);
    expect(m).toStrictEqual({ v2: `/docker/${ID}`, v1: { memory: `/docker/${ID}` }, deleted: true });
  });

  it('skips junk lines and keeps colons inside the path', () => {
    const text = [
      'garbage',
      'x:memory:/not-a-number',
      '3:memory',
      '4:cpu:relative/path',
      '1::/nonzero-id-without-controllers',
      ':pids:/empty-id',
      '5:pids:/a:b',
      '6:blkio:/crlf\r',
      '0::/unified',
    ].join('\n');
    expect(parseProcCgroup(text)).toStrictEqual({ v2: '/unified', v1: { pids: '/a:b', blkio: '/crlf' }, deleted: false });
  });

  it('returns an empty membership for empty or truncated text', () => {
    expect(parseProcCgroup('')).toStrictEqual({ v1: {}, deleted: false });
    expect(parseProcCgroup('4:mem')).toStrictEqual({ v1: {}, deleted: false });
  });

  it('parses the real /proc/self/cgroup of this process', () => {
    const text = readFileSync('/proc/self/cgroup', 'utf8');
    const m = parseProcCgroup(text);
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const [hier, ctrls, ...rest] = line.split(':');
      const path = rest.join(':');
      expect(path.startsWith('/')).toBe(true);
      if (hier === '0' && ctrls === '') expect(m.v2).toBe(path);
      else for (const c of (ctrls ?? '').split(',')) expect(m.v1[c]).toBe(path);
    }
    expect(m.deleted).toBe(false);
    // The host has v1 memory or the unified hierarchy (or both): something to identify from.
    expect(m.v1['memory'] !== undefined || m.v2 !== undefined).toBe(true);
    const { identity, paths } = resolveMembership(m);
    expect(identity.cgroup.startsWith('/')).toBe(true);
    for (const dir of Object.values(paths.v1)) expect(dir).toBe(identity.cgroup);
  });
});

describe('resolveMembership', () => {
  it('hybrid host: v1 memory names the container while 0:: is /', () => {
    const m = parseProcCgroup(
      [`9:name=systemd:/docker/${ID}`, `8:pids:/docker/${ID}`, `4:memory:/docker/${ID}`, `2:cpu,cpuacct:/docker/${ID}`, '0::/'].join('\n'),
    );
    const r = resolveMembership(m);
    expect(r.identity).toStrictEqual(docker(`/docker/${ID}`));
    expect(r.paths).toStrictEqual({
      v1: {
        'name=systemd': `/docker/${ID}`,
        pids: `/docker/${ID}`,
        memory: `/docker/${ID}`,
        cpu: `/docker/${ID}`,
        cpuacct: `/docker/${ID}`,
      },
    });
  });

  it('Slurm v1 (as seen on a real 22.05 node): cpu/cpuacct at / are absent, step dirs give the job dir', () => {
    const job = '/slurm_n1/uid_0/job_1';
    const m = parseProcCgroup(
      [
        '10:name=systemd:/system.slice/slurmd.service',
        `7:freezer:${job}/step_batch`,
        `6:cpuset:${job}/step_batch`,
        `5:memory:${job}/step_batch/task_0`,
        `4:devices:${job}/step_batch/task_0`,
        '3:cpu,cpuacct:/',
        '2:pids:/system.slice/slurmd.service',
      ].join('\n'),
    );
    const r = resolveMembership(m);
    expect(r.identity).toStrictEqual(slurm('1', job, { uid: 0, step: 'batch', task: '0', node: 'n1' }));
    expect(r.paths).toStrictEqual({ v1: { freezer: job, cpuset: job, memory: job, devices: job } });
    expect(r.paths.v1['cpu']).toBeUndefined();
    expect(r.paths.v1['cpuacct']).toBeUndefined();
  });

  it('pure v2 Kubernetes: the container dir without the crun leaf', () => {
    const r = resolveMembership(parseProcCgroup(`0::${KP_BURST}/cri-containerd-${ID}.scope/container\n`));
    expect(r.identity).toStrictEqual(k8s(`${KP_BURST}/cri-containerd-${ID}.scope`));
    expect(r.paths).toStrictEqual({ v2: `${KP_BURST}/cri-containerd-${ID}.scope`, v1: {} });
  });

  it('Slurm v2 SLUID job: paths.v2 is the job dir', () => {
    const r = resolveMembership(parseProcCgroup(`0::${SLURMV2}/sEKNKTV3WPV500/step_0/user/task_2\n`));
    expect(r.identity.kind).toBe('slurm');
    expect(r.identity.sluid).toBe('sEKNKTV3WPV500');
    expect(r.paths).toStrictEqual({ v2: `${SLURMV2}/sEKNKTV3WPV500`, v1: {} });
  });

  it('prefers memory, then cpu/cpuacct, pids, blkio, v2, name=systemd, then any other', () => {
    const lxcPath = '/lxc.payload.web';
    // Only a controller outside the preference list names the container: it is still found.
    const onlyOther = resolveMembership({ v1: { memory: '/', freezer: lxcPath }, v2: '/', deleted: false });
    expect(onlyOther.identity).toStrictEqual(lxc('web', lxcPath));
    expect(onlyOther.paths).toStrictEqual({ v1: { freezer: lxcPath } });

    // memory names one container, v2 another: memory wins and v2 is not the container's.
    const conflict = resolveMembership({ v1: { memory: `/docker/${ID}` }, v2: `/docker/${ID2}`, deleted: false });
    expect(conflict.identity.id).toBe(ID);
    expect(conflict.paths).toStrictEqual({ v1: { memory: `/docker/${ID}` } });

    // pids beats v2 and name=systemd.
    const pids = resolveMembership({
      v1: { 'name=systemd': '/machine.slice/machine-a.scope', pids: '/machine.slice/machine-b.scope' },
      v2: '/machine.slice/machine-c.scope',
      deleted: false,
    });
    expect(pids.identity.id).toBe('b');

    // v2 beats name=systemd.
    const v2 = resolveMembership({ v1: { 'name=systemd': '/machine.slice/machine-a.scope' }, v2: '/machine.slice/machine-c.scope', deleted: false });
    expect(v2.identity.id).toBe('c');

    // name=systemd is used when nothing else names a container.
    const sd = resolveMembership({ v1: { memory: '/', 'name=systemd': '/machine.slice/machine-a.scope' }, v2: '/', deleted: false });
    expect(sd.identity.id).toBe('a');
    expect(sd.paths).toStrictEqual({ v1: { 'name=systemd': '/machine.slice/machine-a.scope' } });
  });

  it('a host process gets host and / in every hierarchy', () => {
    const r = resolveMembership(parseProcCgroup('4:memory:/user.slice/user-1000.slice/session-3.scope\n0::/init.scope\n'));
    expect(r.identity).toBe(HOST_IDENTITY);
    expect(r.paths).toStrictEqual({ v2: '/', v1: { memory: '/' } });
  });

  it('cgroup-namespace views (/ and /../x) are host', () => {
    const r = resolveMembership(parseProcCgroup('4:memory:/../x\n0::/\n'));
    expect(r.identity).toBe(HOST_IDENTITY);
  });

  it('an empty membership is host with no paths', () => {
    const m: CgroupMembership = { v1: {}, deleted: false };
    expect(resolveMembership(m)).toStrictEqual({ identity: HOST_IDENTITY, paths: { v1: {} } });
  });
});
