"""Model FLOPs utilisation: achieved training FLOPs over the device's peak (PaLM, appendix B).

The peak is the dense bf16 tensor-core figure from the vendor's data sheet, looked up by the
CUDA device name. For a device not in the table (a CPU, an unlisted GPU) the peak is
measured instead: the float32 matmul throughput of this process, so a CPU figure reads as
"share of what this machine's matmuls reach", not of a data sheet.
"""

from __future__ import annotations

import functools
import time

import torch

# Dense bf16 FLOP/s from NVIDIA's data sheets (without sparsity). More specific names
# first: "H100 PCIe" must match before "H100".
PEAK_BF16_FLOPS = {
    "B200": 2250e12,
    "H200": 989.4e12,
    "GH200": 989.4e12,
    "H100 NVL": 835e12,
    "H100 PCIe": 756e12,
    "H100": 989.4e12,  # SXM: "NVIDIA H100 80GB HBM3"
    "A100": 312e12,
    "L40S": 362e12,
    "L4": 121e12,
    "A10": 125e12,
}


def peak_flops(device: torch.device) -> tuple[float, str]:
    """(peak FLOP/s of one device, where the figure comes from)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, flops in PEAK_BF16_FLOPS.items():
            if key in name:
                return flops, f"{name}: dense bf16 data-sheet peak"
    return measured_matmul_flops(device.type), f"{device.type}: measured float32 matmul throughput"


@functools.cache
def measured_matmul_flops(device_type: str, size: int = 1024, repeats: int = 4, trials: int = 3) -> float:
    """Best FLOP/s over `trials` runs of `repeats` square float32 matmuls (2 * size^3 FLOPs each).

    The best trial, since other work sharing the machine only ever slows a trial down.
    """
    a = torch.randn(size, size, device=device_type)
    b = torch.randn(size, size, device=device_type)
    a @ b  # warm-up
    best = 0.0
    for _ in range(trials):
        _synchronize(device_type)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _synchronize(device_type)
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start))
    return best


def mfu(flops_per_token: int, tokens_per_second: float, peak: float, num_devices: int) -> float:
    """Share of the peak of all devices that the training FLOPs reach."""
    return flops_per_token * tokens_per_second / (peak * num_devices)


def _synchronize(device_type: str) -> None:
    if device_type == "cuda":
        torch.cuda.synchronize()
