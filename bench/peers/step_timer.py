"""bench/peers/step_timer.py — what the PyTorch peers share: untimed warm-up steps, then the
sorted wall-clock milliseconds of each timed step; and the machine and RESULT lines,
measured as bench/step_report.hpp does for gantry (CPU model from /proc/cpuinfo, a 512^3
float32 GEMM probe through torch.mm, the fastest of 11 after a warm-up, and the process's peak
RSS from getrusage ru_maxrss; the CPU time per timed step from time.process_time)."""
import resource
import time

import torch

cpu_ms_per_step = float("nan")  # CPU time (user + system, all threads) per timed step, set by time_steps


def time_steps(step, warmup, steps):
    """Runs step() warmup times untimed, then steps times; returns (median ms, sorted ms, peak RSS MiB)."""
    for _ in range(warmup):
        step()
    global cpu_ms_per_step
    ms = []
    cpu0 = time.process_time()
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    cpu_ms_per_step = (time.process_time() - cpu0) * 1000 / steps
    ms.sort()
    return ms[len(ms) // 2], ms, peak_rss_mib()


def peak_rss_mib():
    """Peak resident set of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown cpu"


def gemm_probe_gflops(n=512):
    """Float32 GFLOP/s of a n^3 torch.mm (2 n^3 flops), the fastest of 11 after one untimed."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(11):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def print_machine(threads):
    print(f"machine pytorch: {cpu_model()}, threads {threads}, sgemm 512^3 {gemm_probe_gflops():.1f} GFLOP/s (torch.mm)")


def print_result(median):
    """The line bench/run_step_pair.sh reads: RESULT pytorch <median ms> <peak RSS MiB> <CPU ms per step>."""
    print(f"pytorch cpu time {cpu_ms_per_step:.2f} ms/step (all threads)")
    print(f"RESULT pytorch {median:.4f} {peak_rss_mib():.1f} {cpu_ms_per_step:.4f}")
