#!/usr/bin/env python3
# tests/dist/compare_runs.py A B [TOL] — compares two `gantry train` output folders: every
# row of log.csv (the losses, printed to 6 digits) and every float32 tensor of
# checkpoint.safetensors (parameters, batch-norm statistics, optimizer state), and the
# checkpoint's metadata (steps, the noise generator's offset) exactly. Prints the
# largest differences; exits 1 when one exceeds TOL (default 1e-4, absolute + relative on
# the losses; on the tensors |x - y| / (1 + |x|): absolute for values below 1, relative
# above, since Adam's second moments reach the hundreds, where float32's reduction-order
# rounding alone exceeds 1e-4 absolute), 0 otherwise. --report: print, never fail.
import json
import struct
import sys


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {"__metadata__": ("META", json.dumps(header.get("__metadata__", {}), sort_keys=True).encode())}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "F32":
            out[name] = ("F32", struct.unpack("<%df" % (len(raw) // 4), raw))
        else:
            out[name] = (info["dtype"], raw)
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    report = "--report" in sys.argv
    a, b = args[0], args[1]
    tol = float(args[2]) if len(args) > 2 else 1e-4
    la = open(a + "/log.csv").read().split("\n")
    lb = open(b + "/log.csv").read().split("\n")
    bad = []
    if la[0] != lb[0] or len(la) != len(lb):
        bad.append("logs differ in header or length: %d against %d lines" % (len(la), len(lb)))
    worst_loss = 0.0
    for ra, rb in zip(la[1:], lb[1:]):
        if not ra and not rb:
            continue
        for x, y in zip(ra.split(","), rb.split(",")):
            d = abs(float(x) - float(y))
            worst_loss = max(worst_loss, d / (1e-6 + abs(float(x))) if d > 1e-6 else 0.0)
    if worst_loss > tol:
        bad.append("a loss differs by %.3g (relative)" % worst_loss)
    ta = load_safetensors(a + "/checkpoint.safetensors")
    tb = load_safetensors(b + "/checkpoint.safetensors")
    if sorted(ta) != sorted(tb):
        bad.append("the checkpoints hold different tensors")
    worst, where, worst_abs, at = 0.0, "", 0.0, 0.0
    for name in sorted(set(ta) & set(tb)):
        (da, va), (db, vb) = ta[name], tb[name]
        if da != "F32" or db != "F32":
            if va != vb:
                bad.append("%s (%s) differs" % (name, da))
            continue
        for x, y in zip(va, vb):
            d = abs(x - y) / (1.0 + abs(x))
            if d > worst:
                worst, where, worst_abs, at = d, name, abs(x - y), x
    if worst > tol:
        bad.append("tensor %s differs by %.3g at a value of %.3g (%.3g scaled)" % (where, worst_abs, at, worst))
    print("compare %s %s: %d log rows, largest relative loss difference %.3g, %d tensors, largest difference "
          "|x - y| / (1 + |x|) %.3g%s" % (a, b, len(la) - 2, worst_loss, len(ta), worst,
                                        " (%s: %.3g at %.3g)" % (where, worst_abs, at) if where else ""))
    for m in bad:
        print("  " + ("DIFFERENT: " if report else "FAIL: ") + m)
    return 0 if report or not bad else 1


if __name__ == "__main__":
    sys.exit(main())
