# tests/core/torch_modconv_ref.py — the PyTorch numbers test_modconv.cpp checks: modulated conv as
# stylegan2-ada's grouped conv, upfirdn2d as its reference _upfirdn2d_ref. Run: /usr/bin/python3 tests/core/torch_modconv_ref.py
import torch, torch.nn.functional as F
torch.set_default_dtype(torch.float64)
def det(shape, f):
    n = 1
    for s in shape: n *= s
    i = torch.arange(n, dtype=torch.float64)
    return f(i).reshape(shape)
N, Cin, H, W, Cout, k = 3, 5, 7, 6, 4, 3
x = det((N, Cin, H, W), lambda i: torch.sin(0.37 * i + 0.1))
w = det((Cout, Cin, k, k), lambda i: torch.cos(0.21 * i))
s = det((N, Cin), lambda i: 0.5 + 0.4 * torch.sin(1.3 * i))
def modconv(x, w, s, demod, pad):
    wp = w[None] * s[:, None, :, None, None]
    if demod:
        d = (wp.square().sum([2, 3, 4]) + 1e-8).rsqrt()
        wp = wp * d[:, :, None, None, None]
    xg = x.reshape(1, -1, *x.shape[2:])
    y = F.conv2d(xg, wp.reshape(-1, *w.shape[1:]), padding=pad, groups=x.shape[0])
    return y.reshape(x.shape[0], -1, *y.shape[2:])
for demod, pad in [(True, 1), (False, 0)]:
    y = modconv(x, w, s, demod, pad)
    v = det(y.shape, lambda i: torch.cos(0.11 * i))
    print("modconv demod", demod, "pad", pad, tuple(y.shape), repr((y * v).sum().item()))
# upfirdn2d as stylegan2-ada's reference (upfirdn2d._upfirdn2d_ref, flip_filter=False)
def upfirdn(x, f, up, down, px0, px1, py0, py1):
    b, c, h, w_ = x.shape
    x = x.reshape(b, c, h, 1, w_, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
    x = x.reshape(b, c, h * up, w_ * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    f = f.flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, f, groups=c)
    return x[:, :, ::down, ::down]
xu = det((2, 3, 5, 4), lambda i: torch.sin(0.29 * i + 0.3))
f1 = torch.tensor([1., 3., 3., 1.])
f = torch.outer(f1, f1)
f = f / f.sum()
fa = det((3, 2), lambda i: 1.0 + 0.5 * torch.cos(1.7 * i))  # asymmetric: flips matter
for name, ff, up, down, pads in [("blur_up2", f * 4, 2, 1, (2, 1, 2, 1)), ("blur_down2", f, 1, 2, (1, 1, 1, 1)),
                                 ("asym", fa, 3, 2, (2, -1, 0, 1))]:
    y = upfirdn(xu, ff, up, down, *pads)
    v = det(y.shape, lambda i: torch.cos(0.11 * i))
    print("upfirdn", name, tuple(y.shape), repr((y * v).sum().item()))
