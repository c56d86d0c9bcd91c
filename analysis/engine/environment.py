"""What every run record says about where it ran: versions, device, threads, host. torch is imported only by
`environment` (the pages read `versions` without it)."""
from __future__ import annotations

import os
import platform
import socket
from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PACKAGES = ("torch", "numpy", "pandas", "pyarrow", "snakemake", "scipy", "seaborn", "matplotlib")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_name() -> str:
    """The CPU model as the kernel names it (platform.processor() is empty on most Linux systems)."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: torch.device, threads: int) -> dict:
    import torch

    info = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions(),
        # set when the job ran under a cluster scheduler (Snakemake's Slurm executor)
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }
    return info
