"""What every run record says about where it ran: versions, device, threads, host."""
from __future__ import annotations

import os
import platform
import socket
from importlib import metadata

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


def environment(device: torch.device, threads: int) -> dict:
    info = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "versions": versions(),
        # set when the job ran under a cluster scheduler (Snakemake's Slurm executor)
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }
    return info
