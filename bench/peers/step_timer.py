"""bench/peers/step_timer.py — the timing loop the PyTorch peers share: untimed warm-up
steps, then the sorted wall-clock milliseconds of each timed step, and the peak RSS."""
import resource
import time


def time_steps(step, warmup, steps):
    """Runs step() warmup times untimed, then steps times; returns (median ms, sorted ms, peak RSS MiB)."""
    for _ in range(warmup):
        step()
    ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return ms[len(ms) // 2], ms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
