# slurm-conf.sh — sourced by slurm-up.sh (the host's 22.05 lab) and modern-up.sh (24.11/26.05 in a
# root): the one description of the lab cluster's shape. node0 (2 fake GPUs), c1..c4 (c4 never has a
# slurmd: DOWN), partitions debug/gpu/long, licenses matlab:4 ansys:2, slurmdbd or none.
#   lab_slurm_conf HEADER HOST WITH_DBD [EXTRA]   prints slurm.conf (EXTRA: more lines, e.g. MetricsType)
#   lab_gres_conf                                 prints gres.conf
lab_slurm_conf() {
  local header=$1 host=$2 with_dbd=$3 extra=${4:-} acct
  if [ "$with_dbd" = 1 ]; then
    acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStorageEnforce=associations
AccountingStorageTRES=gres/gpu"
  else
    acct="AccountingStorageType=accounting_storage/none"
  fi
  cat <<CONF
$header
ClusterName=testlab
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd/%n
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups (a root has no cgroup tree; cgroup.conf there: CgroupPlugin=disabled)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5
PriorityType=priority/multifactor
PriorityWeightFairshare=1000
PriorityWeightAge=100
PriorityCalcPeriod=1
PriorityDecayHalfLife=1-0
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
$acct
JobCompType=jobcomp/none
MpiDefault=none
# bind slurmd/slurmctld to their NodeAddr/SlurmctldHost address (127.0.0.1), not 0.0.0.0
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
ReturnToService=2
SlurmdTimeout=120
InactiveLimit=0
KillWait=5
MinJobAge=600
Licenses=matlab:4,ansys:2
GresTypes=gpu
MailProg=/bin/true
$extra
NodeName=node0 NodeHostname=$host NodeAddr=127.0.0.1 CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=4096 Gres=gpu:fake:2 Features=real State=UNKNOWN
NodeName=c[1-4] NodeHostname=c[1-4] NodeAddr=127.0.0.1 Port=17001-17004 CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=2048 Features=fake State=UNKNOWN
PartitionName=debug Nodes=node0,c[1-4] Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=node0 MaxTime=2-00:00:00 State=UP
PartitionName=long Nodes=c[1-4] MaxTime=7-00:00:00 PriorityTier=2 State=UP
CONF
}

lab_gres_conf() {
  printf '%s\n' "AutoDetect=off" "NodeName=node0 Name=gpu Type=fake File=/run/slurm/fakedev/nvidia[0-1]"
}

# prints slurmdbd.conf (MariaDB on the local socket, user slurm; binds 127.0.0.1, not 0.0.0.0)
lab_slurmdbd_conf() {
  cat <<'CONF'
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
CommunicationParameters=NoInAddrAny
SlurmUser=slurm
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=testlabpw
CONF
}
