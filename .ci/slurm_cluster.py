#!/usr/bin/env python3
"""A real one-node SLURM cluster on this machine, from Debian's packages, for tests and CI.

    python .ci/slurm_cluster.py install   # apt-get install the daemons (only those missing)
    python .ci/slurm_cluster.py start     # write the configs, start the daemons, wait for an idle node
    python .ci/slurm_cluster.py status    # what runs, and sinfo
    python .ci/slurm_cluster.py stop      # stop what `start` started, by process id; remove the configs

Needs root, no systemd. `start` runs munged, mariadbd, slurmdbd (so that sacct works: the slurm
executor plugin polls with sacct whenever the binary exists), slurmctld and slurmd, each in the
foreground of its own session, and records its process id in STATE/pids/<name>.pid. `stop` ends
exactly those processes. The node offers fake GPUs (gres/gpu backed by /dev/null-like character
devices), so `--gpus=1` requests are scheduled and accounted (sacct AllocTRES shows gres/gpu).

The configs go to /etc/slurm/ (slurm.conf, gres.conf, slurmdbd.conf): the plugin's job step drops
SLURM_CONF before calling srun inside a job, so only the default path works. `stop` removes them
again (or puts back files that were there before), because a slurm.conf that points at a stopped
controller makes every later `snakemake` call wait about 10 s for `scontrol` to time out.

`start` is idempotent: with every daemon alive and the same configs it only checks the node.
Environment: SLURM_CI_STATE (state directory, default /var/tmp/spatialpool-slurm),
SLURM_CI_CPUS (CPUs the node offers, default: this machine's), SLURM_CI_GPUS (fake GPUs, default 2).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("SLURM_CI_STATE", "/var/tmp/spatialpool-slurm"))
PIDS, LOGS = STATE / "pids", STATE / "log"
ETC = Path("/etc/slurm")
MARK = "# Written by spatialpool's .ci/slurm_cluster.py; `stop` removes this file.\n"
CLUSTER = "spatialpool"
PARTITION = "main"  # the default partition
GPU_PARTITION = "gpu"  # the same node, for testing that GPU jobs can go to their own partition
DB_USER, DB_PASS, DB_NAME = "slurm", "slurm", "slurm_acct_db"
MYSQL_SOCKET = Path("/run/mysqld/mysqld.sock")
MUNGE_SOCKET_DIR = Path("/run/munge")
PACKAGES = {  # Debian package -> a program it installs
    "munge": "/usr/sbin/munged",
    "mariadb-server": "/usr/sbin/mariadbd",
    "slurmdbd": "/usr/sbin/slurmdbd",
    "slurmctld": "/usr/sbin/slurmctld",
    "slurmd": "/usr/sbin/slurmd",
    "slurm-client": "/usr/bin/sacct",
}
# Start order; `stop` goes backwards. name -> executable whose basename /proc/<pid>/comm must show.
DAEMONS = ["munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd"]


def log(msg: str) -> None:
    print(f"[slurm_cluster] {msg}", flush=True)


def run(cmd: list[str], timeout: float = 30, check: bool = True, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stdout}{res.stderr}")
    return res


def quiet(cmd: list[str], timeout: float = 10) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return None


def wait_for(what: str, ok, timeout: float, every: float = 0.2, dead=None) -> None:
    """Poll ok() until it is true; fail after timeout, or at once if dead() names a dead process."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ok():
            return
        if dead is not None and (name := dead()):
            raise RuntimeError(f"{name} exited while waiting for {what}; see {LOGS / (name + '.log')}")
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}; logs in {LOGS}")


# ---------------------------------------------------------------------------------------------
# process ids


def pid_of(name: str) -> int | None:
    """The recorded pid of a daemon we started, if that process still runs that program."""
    path = PIDS / f"{name}.pid"
    try:
        pid = int(path.read_text().split()[0])
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError, IndexError):
        return None
    # comm is cut at 15 characters; a zombie does not count as running
    if comm != name[:15] or stat.rsplit(")", 1)[1].split()[0] == "Z":
        return None
    return pid


def launch(name: str, cmd: list[str], user: str | None = None) -> int:
    """Start cmd in its own session, detached, output to LOGS/name.log; record its pid."""
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    out = open(LOGS / f"{name}.log", "ab")
    out.write(f"\n==== {time.strftime('%F %T')} {' '.join(cmd)}\n".encode())
    out.flush()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True, user=user,
                            env={**os.environ, "SLURM_CONF": str(ETC / "slurm.conf")})
    out.close()
    (PIDS / f"{name}.pid").write_text(f"{proc.pid}\n")
    log(f"started {name} (pid {proc.pid})")
    return proc.pid


def terminate(name: str, timeout: float = 20) -> None:
    pid = pid_of(name)
    if pid is None:
        (PIDS / f"{name}.pid").unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while time.monotonic() < end and pid_of(name) == pid:
        time.sleep(0.1)
    if pid_of(name) == pid:
        log(f"{name} (pid {pid}) ignored SIGTERM; killing it")
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    _reap(pid)
    (PIDS / f"{name}.pid").unlink(missing_ok=True)
    log(f"stopped {name} (pid {pid})")


def _reap(pid: int) -> None:
    try:  # only our own children can be reaped; others are reaped by init
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def dead_daemon(names):
    def check():
        return next((n for n in names if pid_of(n) is None), None)
    return check


# ---------------------------------------------------------------------------------------------
# configuration


def hostname() -> str:
    return socket.gethostname().split(".")[0]


def node_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(int(line.split()[1]) / 1024 * 0.9)
    return 1024


def fake_gpu_files(n: int) -> list[str]:
    """Character devices that stand in for GPUs (slurmd only checks that the file exists)."""
    devs = [d for d in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
            if Path(d).exists()]
    if n > len(devs):
        raise SystemExit(f"at most {len(devs)} fake GPUs can be configured here")
    return devs[:n]


def configs() -> dict[str, str]:
    host = hostname()
    cpus = int(os.environ.get("SLURM_CI_CPUS") or os.cpu_count() or 1)
    gpus = int(os.environ.get("SLURM_CI_GPUS", "2"))
    mem = node_memory_mb()
    s = STATE
    slurm_conf = f"""{MARK}ClusterName={CLUSTER}
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={s}/slurmctld
SlurmdSpoolDir={s}/slurmd
SlurmctldPidFile={s}/run/slurmctld.pid
SlurmdPidFile={s}/run/slurmd.pid
SlurmctldLogFile={LOGS}/slurmctld.daemon.log
SlurmdLogFile={LOGS}/slurmd.daemon.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
MailProg=/bin/true
DefMemPerCPU=500
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} Gres=gpu:{gpus} State=UNKNOWN
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName={GPU_PARTITION} Nodes={host} Default=NO MaxTime=INFINITE State=UP
"""
    gres = MARK + "AutoDetect=off\n" + "".join(
        f"NodeName={host} Name=gpu File={dev}\n" for dev in fake_gpu_files(gpus))
    dbd = f"""{MARK}AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile={s}/run/slurmdbd.pid
LogFile={LOGS}/slurmdbd.daemon.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser={DB_USER}
StoragePass={DB_PASS}
StorageLoc={DB_NAME}
"""
    return {"slurm.conf": slurm_conf, "gres.conf": gres, "slurmdbd.conf": dbd}


def write_configs(wanted: dict[str, str]) -> bool:
    """Write /etc/slurm/*; back up foreign files once. True if anything changed."""
    ETC.mkdir(parents=True, exist_ok=True)
    changed = False
    for name, text in wanted.items():
        path = ETC / name
        backup = STATE / "backup" / name
        if path.exists() and not path.read_text(errors="replace").startswith(MARK) and not backup.exists():
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, backup)
            log(f"backed up the existing {path} to {backup}")
        if not path.exists() or path.read_text(errors="replace") != text:
            path.write_text(text)
            changed = True
        os.chmod(path, 0o600 if name == "slurmdbd.conf" else 0o644)
    return changed


def remove_configs() -> None:
    for name in ("slurm.conf", "gres.conf", "slurmdbd.conf"):
        path, backup = ETC / name, STATE / "backup" / name
        if path.exists() and path.read_text(errors="replace").startswith(MARK):
            path.unlink()
        if backup.exists():
            shutil.move(str(backup), path)
            log(f"restored {path}")


# ---------------------------------------------------------------------------------------------
# the daemons


def munge_works() -> bool:
    cred = quiet(["munge", "-n"], timeout=5)
    if cred is None or cred.returncode != 0:
        return False
    back = subprocess.run(["unmunge"], input=cred.stdout, capture_output=True, text=True, timeout=5)
    return back.returncode == 0


def start_munge() -> None:
    if munge_works():
        return  # ours, or a munged that the machine already runs: either will do
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        run(["mungekey", "--create", f"--keyfile={key}"])
    shutil.chown(key, "munge", "munge")
    os.chmod(key, 0o600)
    for d, mode in ((MUNGE_SOCKET_DIR, 0o755), (Path("/var/lib/munge"), 0o700), (Path("/var/log/munge"), 0o700)):
        d.mkdir(parents=True, exist_ok=True)
        shutil.chown(d, "munge", "munge")
        os.chmod(d, mode)  # munged refuses a socket directory that others cannot read into
    launch("munged", ["/usr/sbin/munged", "--foreground", f"--pid-file={MUNGE_SOCKET_DIR}/munged.pid",
                      "--log-file=/var/log/munge/munged.log"], user="munge")
    wait_for("munge", munge_works, 20, dead=dead_daemon(["munged"]))


def sql(statement: str, timeout: float = 10) -> subprocess.CompletedProcess | None:
    return quiet(["mariadb", "--protocol=socket", f"--socket={MYSQL_SOCKET}", "-uroot", "-N", "-e", statement],
                 timeout=timeout)


def db_works() -> bool:
    res = sql("SELECT 1", timeout=5)
    return res is not None and res.returncode == 0


def start_mariadb() -> None:
    if not db_works():
        datadir = Path("/var/lib/mysql")
        if not (datadir / "mysql").is_dir():
            run(["mariadb-install-db", "--user=mysql", f"--datadir={datadir}",
                 "--auth-root-authentication-method=socket", "--skip-test-db"], timeout=120)
        MYSQL_SOCKET.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(MYSQL_SOCKET.parent, "mysql", "mysql")
        (STATE / "run").mkdir(parents=True, exist_ok=True)
        launch("mariadbd", ["/usr/sbin/mariadbd", "--user=mysql", f"--datadir={datadir}",
                            f"--socket={MYSQL_SOCKET}", "--skip-networking",
                            f"--pid-file={MYSQL_SOCKET.parent}/mariadbd.pid", "--innodb-lock-wait-timeout=900",
                            "--innodb-buffer-pool-size=256M"])
        wait_for("mariadb", db_works, 60, dead=dead_daemon(["mariadbd"]))
    res = sql(f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASS}'; "
              f"GRANT ALL PRIVILEGES ON {DB_NAME}.* TO '{DB_USER}'@'localhost'; FLUSH PRIVILEGES;")
    if res is None or res.returncode != 0:
        raise RuntimeError(f"could not create the slurm database user: {res and res.stderr}")


def dbd_works() -> bool:
    res = quiet(["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"], timeout=5)
    return res is not None and res.returncode == 0


def ctld_works() -> bool:
    res = quiet(["scontrol", "ping"], timeout=5)
    return res is not None and res.returncode == 0 and "UP" in res.stdout


def node_state() -> str:
    res = quiet(["sinfo", "-h", "-N", "-n", hostname(), "-o", "%T"], timeout=5)
    if res is None or res.returncode != 0 or not res.stdout.split():
        return ""
    return res.stdout.split()[0]  # one line per partition, all the same node


def running() -> dict[str, int | None]:
    return {name: pid_of(name) for name in DAEMONS}


def start(timeout: float) -> None:
    t0 = time.monotonic()
    if os.geteuid() != 0:
        raise SystemExit("slurm_cluster.py start must run as root")
    missing = [pkg for pkg, prog in PACKAGES.items() if not Path(prog).exists()]
    if missing:
        raise SystemExit(f"missing Debian packages {missing}: run `python {sys.argv[0]} install` first")
    for d in (STATE / "run", STATE / "slurmctld", STATE / "slurmd", LOGS, PIDS):
        d.mkdir(parents=True, exist_ok=True)
    wanted = configs()
    changed = write_configs(wanted)
    slurm_daemons = ["slurmdbd", "slurmctld", "slurmd"]
    alive = running()
    if changed and any(alive[n] for n in slurm_daemons):
        log("configuration changed: restarting the SLURM daemons")
        for name in reversed(slurm_daemons):
            terminate(name)
    elif any(alive[n] for n in slurm_daemons) and not all(alive[n] for n in slurm_daemons):
        log("a SLURM daemon died: restarting them all")
        for name in reversed(slurm_daemons):
            terminate(name)

    start_munge()
    start_mariadb()
    if pid_of("slurmdbd") is None:
        launch("slurmdbd", ["/usr/sbin/slurmdbd", "-D"])
    wait_for("slurmdbd", dbd_works, 60, dead=dead_daemon(["slurmdbd"]))
    res = run(["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"])
    if CLUSTER not in res.stdout.split():
        run(["sacctmgr", "-i", "add", "cluster", CLUSTER])
    if pid_of("slurmctld") is None:
        launch("slurmctld", ["/usr/sbin/slurmctld", "-D", "-i"])
    wait_for("slurmctld", ctld_works, 60, dead=dead_daemon(["slurmdbd", "slurmctld"]))
    if pid_of("slurmd") is None:
        launch("slurmd", ["/usr/sbin/slurmd", "-D"])

    def idle():
        state = node_state()
        if state.startswith(("down", "drain")) or state.endswith("*") and "drain" in state:
            quiet(["scontrol", "update", f"nodename={hostname()}", "state=resume"])
        return state.startswith(("idle", "mixed", "allocated"))

    wait_for("an idle node (sinfo)", idle, timeout, every=0.5, dead=dead_daemon(slurm_daemons))
    log(f"cluster up in {time.monotonic() - t0:.1f} s: partitions {PARTITION} (default) and {GPU_PARTITION}, node {hostname()} "
        f"{node_state()}, state in {STATE}")


def stop() -> None:
    t0 = time.monotonic()
    if pid_of("slurmctld") is not None:  # cancel leftover jobs so that no job step outlives slurmd
        squeue = quiet(["squeue", "-h", "-o", "%i"], timeout=5)
        if squeue is not None and squeue.stdout.split():
            quiet(["scancel", *squeue.stdout.split()], timeout=10)
            time.sleep(1)
    for name in reversed(DAEMONS):
        terminate(name)
    remove_configs()
    log(f"stopped in {time.monotonic() - t0:.1f} s")


def status() -> int:
    alive = running()
    for name, pid in alive.items():
        print(f"{name:10s} {'pid ' + str(pid) if pid else 'not running (or not started by this script)'}")
    if (ETC / "slurm.conf").exists():
        res = quiet(["sinfo"], timeout=10)
        print(res.stdout if res is not None else "sinfo timed out")
    return 0 if all(alive[n] for n in ("slurmctld", "slurmd", "slurmdbd")) else 1


def install() -> None:
    missing = [pkg for pkg, prog in PACKAGES.items() if not Path(prog).exists()]
    if not missing:
        log("all packages present")
        return
    if os.geteuid() != 0:  # not fatal: the SLURM tests skip themselves without root
        log(f"not root: cannot install {missing}; the SLURM tests will be skipped")
        return
    t0 = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Debian's maintainer scripts would try to start the services: forbid that (no systemd here).
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        run(["apt-get", "update", "-q"], timeout=600, env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES], timeout=900, env=env)
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)
    log(f"installed {missing} in {time.monotonic() - t0:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "start", "stop", "restart", "status"])
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for an idle node")
    args = parser.parse_args()
    try:
        if args.command == "install":
            install()
        elif args.command == "start":
            start(args.timeout)
        elif args.command == "restart":
            stop()
            start(args.timeout)
        elif args.command == "stop":
            stop()
        else:
            return status()
    except RuntimeError as e:
        log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
