"""Accelerators the planner knows: dense 16-bit peak throughput and memory.

Peaks are the vendors' dense BF16 tensor-core figures (no 2:4 sparsity), which is what model
FLOPs utilisation (MFU) is quoted against; memory is the marketed size in GB converted to GiB,
as `nvidia-smi` shows slightly less than the marketed size. A CPU has no single figure: the
default is an order of magnitude for a many-core AVX-512 server in fp32, and should be replaced
by a measured one (`peak_gflops`).
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
GB = 1e9


@dataclass(frozen=True)
class Device:
    """An accelerator (or CPU) for planning: peak throughput and memory."""

    name: str
    peak_tflops: float  # dense bf16 (fp32 for the CPU)
    memory_gib: float

    @property
    def is_cpu(self) -> bool:
        return self.name == "cpu"


def _gpu(name: str, tflops: float, memory_gb: float) -> Device:
    return Device(name, tflops, memory_gb * GB / GIB)


DEVICES: dict[str, Device] = {
    d.name.lower(): d
    for d in (
        _gpu("A100", 312, 80),  # SXM/PCIe 80 GB; the 40 GB part has the same peak
        _gpu("A100-40GB", 312, 40),
        _gpu("H100", 989, 80),  # SXM; the PCIe part peaks at 756
        _gpu("H200", 989, 141),  # same compute as H100 SXM, more and faster memory
        _gpu("L4", 121, 24),
        _gpu("A10G", 125, 24),  # AWS's A10 variant; NVIDIA quotes 125 for the A10
        _gpu("RTX4090", 165, 24),  # bf16 with fp32 accumulate, as PyTorch runs it
        _gpu("A6000", 155, 48),  # RTX A6000, the 48 GB card the QLoRA paper used
        Device("cpu", 0.5, 0.0),  # 500 GFLOP/s; memory is the host's, so not checked here
    )
}


def get_device(name: str, peak_gflops: float | None = None) -> Device:
    """A known device by name ('H100', 'rtx4090', 'cpu'); `peak_gflops` overrides its peak."""
    key = name.strip().lower().replace(" ", "").replace("rtx-", "rtx")
    if key not in DEVICES:
        known = ", ".join(d.name for d in DEVICES.values())
        raise ValueError(f"unknown device {name!r}; known: {known}")
    found = DEVICES[key]
    if peak_gflops is not None:
        if peak_gflops <= 0:
            raise ValueError(f"peak_gflops must be positive, got {peak_gflops}")
        found = Device(found.name, peak_gflops / 1000, found.memory_gib)
    return found
