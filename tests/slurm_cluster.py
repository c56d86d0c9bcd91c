"""A real single-node Slurm cluster for the tests: munge + slurmctld + slurmd on loopback.

Everything is generated under a temporary folder (key, sockets, state, logs, config) and
every daemon started is stopped by pid at the end. One exception to "everything in the
folder": the Slurm executor's job-step plugin strips SLURM_CONF from the environment of
the nested `srun`, so the generated config is also installed at Slurm's default path
(/etc/slurm/slurm.conf) for the cluster's lifetime, and whatever was there is restored.
Needs root (to install Debian's slurm-wlm/munge if missing and to run munged as `munge`).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

DEFAULT_CONF = Path("/etc/slurm/slurm.conf")
PACKAGES = ("slurm-wlm", "munge")


class ClusterError(RuntimeError):
    pass


def ensure_installed() -> None:
    """Install Debian's slurm-wlm and munge when missing (root only), else say what to run."""
    if all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue")):
        return
    if os.geteuid() != 0:
        raise ClusterError("Slurm is not installed and this is not root: run "
                           f"`sudo apt-get install -y {' '.join(PACKAGES)}` and the tests again")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *PACKAGES]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


def write_config(root: Path, host: str) -> Path:
    ctl_port, d_port = _free_port(), _free_port()
    conf = root / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=nnlabtest",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={ctl_port}",
        f"SlurmdPort={d_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge/munge.sock'}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log/slurmctld.log'}",
        f"SlurmdLogFile={root / 'log/slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "MinJobAge=600",  # finished jobs stay visible to squeue, which the executor polls
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={int(_memory_mb() * 0.8)} State=UNKNOWN",
        f"PartitionName=nnlab Nodes={host} Default=YES MaxTime=INFINITE State=UP",
    ]) + "\n")
    return conf


def _stop(pid_file: Path) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def slurm_cluster() -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd; yield the environment for clients; stop them all.

    The cluster's folder is a fresh one under /tmp that the munge user can reach (pytest's
    own temporary folders are private to root); it is removed at the end.
    """
    ensure_installed()
    if os.geteuid() != 0:
        raise ClusterError("starting the test cluster needs root (munged runs as the munge user)")
    root = Path(tempfile.mkdtemp(prefix="nnlab-slurm-"))
    root.chmod(0o755)
    host = socket.gethostname()
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    munge_dir = root / "munge"
    shutil.chown(munge_dir, "munge", "munge")
    munge_dir.chmod(0o755)  # munged needs the socket's folder searchable by all
    key = munge_dir / "munge.key"
    subprocess.run(["runuser", "-u", "munge", "--", "mungekey", "-c", "-k", str(key)], check=True)
    conf = write_config(root, host)
    backup = None
    if DEFAULT_CONF.exists():
        backup = root / "slurm.conf.previous"
        shutil.copy2(DEFAULT_CONF, backup)
    DEFAULT_CONF.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(conf, DEFAULT_CONF)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        subprocess.run(["runuser", "-u", "munge", "--", "munged", f"--socket={munge_dir / 'munge.sock'}",
                        f"--key-file={key}", f"--pid-file={munge_dir / 'munged.pid'}",
                        f"--log-file={munge_dir / 'munged.log'}", f"--seed-file={munge_dir / 'munge.seed'}"],
                       check=True)
        subprocess.run(["slurmctld", "-f", str(conf)], check=True, env=env)
        subprocess.run(["slurmd", "-f", str(conf)], check=True, env=env)
        deadline = time.time() + 60
        while True:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            if state.returncode == 0 and state.stdout.strip() == "idle":
                break
            if time.time() > deadline:
                logs = "\n".join(p.read_text()[-2000:] for p in (root / "log").glob("*.log"))
                raise ClusterError(f"the test cluster did not come up: {state.stdout}{state.stderr}\n{logs}")
            time.sleep(0.5)
        yield env
    finally:
        _stop(root / "slurmd.pid")
        _stop(root / "slurmctld.pid")
        _stop(munge_dir / "munged.pid")
        if backup is not None:
            shutil.copy2(backup, DEFAULT_CONF)
        else:
            DEFAULT_CONF.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
