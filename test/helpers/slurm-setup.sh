#!/bin/sh
# A one-node Slurm (slurmctld + slurmd on this host) for the report test's real job: proctrack/cgroup and task/cgroup
# on cgroup v1, ConstrainCores so a job's cpuset holds its allocated CPUs. Needs root and Debian's slurm-wlm + munge.
# Idempotent: prints `running` and does nothing when both daemons already answer, else starts them and prints
# `started` (the caller then stops them with `scontrol shutdown`).
set -eu
command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed (apt-get install slurm-wlm munge)" >&2; exit 2; }
if scontrol ping 2>/dev/null | grep -q UP && sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then echo running; exit 0; fi
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
chown -R slurm:slurm /var/spool/slurmctld /var/log/slurm 2>/dev/null || true
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=bubble
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
cat > /etc/slurm/cgroup.conf <<CONF
CgroupPlugin=cgroup/v1
ConstrainCores=yes
ConstrainRAMSpace=no
CONF
pgrep -x munged >/dev/null || (chown munge:munge /etc/munge/munge.key /run/munge 2>/dev/null; su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force)
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 30); do
  if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then echo started; exit 0; fi
  sleep 1
done
echo "slurm did not come up: $(tail -3 /var/log/slurm/slurmd.log 2>/dev/null) $(tail -3 /var/log/slurm/slurmctld.log 2>/dev/null)" >&2
exit 1
