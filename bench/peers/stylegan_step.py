"""bench/peers/stylegan_step.py — the same StyleGAN2 step as bench/stylegan_step.cpp, in PyTorch.

The nets are gan/zoo/stylegan_nets.cpp layer for layer (32x32 gray, G crops to 28 and D pads
28 back to 32 with -1, as gan/zoo/stylegan.cpp's fit / d_in):
- equalized lr: EqLinear y = x (W lr_mul / sqrt(in))^T + b lr_mul (W ~ N(0, 1/lr_mul), bias
  init), EqConv conv2d(x, W / sqrt(in k k), b, pad k/2); lrelu(0.2) * sqrt 2 where marked;
- mapping: z / sqrt(mean z^2 + 1e-8), map_layers EqLinear lrelu with lr_mul 0.01; w_avg
  moved with beta 0.995 in the D step's no-grad synthesis;
- synthesis: a learned const [2f, 4, 4]; per resolution (4: conv1, toRGB; 8..32: conv0 after
  the [1,3,3,1] FIR up 2 (upfirdn2d, gain 4), conv1, toRGB); modulated 3x3 convs with
  demodulation, per-pixel random noise * strength, bias, lrelu * sqrt 2; toRGB 1x1 without
  demodulation (styles / sqrt(in)); skip images summed after FIR up 2;
- D: fromRGB 1x1; per resolution 32, 16, 8 a residual block (skip: FIR down 2 + 1x1 no
  bias; main: 3x3, then FIR down 2 + 3x3; each branch times sqrt(1/2)); minibatch stddev
  (group 4, 1 feature), 3x3 conv, FC, FC.
The step is Stylegan::step: Gmain (softplus(-D(G(ws))), style mixing 0.9, grads for G's
parameters only), Greg when --pl-weight > 0 (every 4 steps), Dmain (softplus(D(fake)) +
softplus(-D(real))), lazy R1 every --r1-interval steps (gamma 0.01, a double backward,
scaled by the interval), the G EMA (half-life min(10 kimg, images * 0.05)); Adam lr 0.0025,
betas (0, 0.99) with the lazy correction c = I / (I + 1) for D (and G when pl is on).
Where it differs, on purpose: upfirdn2d is a depthwise F.conv2d of the zero-inserted,
padded input (stylegan2-ada's reference "ref" path), and the modulated conv is its
training path (fused_modconv=False: x * styles, one conv2d with the shared weight, times
the demodulation coefficients), while gantry runs its own upfirdn2d and modconv2d kernels;
the arithmetic is the same. Random streams differ (Philox there).
The figure is the mean ms/step over --steps (R1 runs one step in r1_interval).
"""
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from step_timer import print_machine, print_result, time_steps

SQRT2 = math.sqrt(2.0)


def lrelu_gain(x):
    return F.leaky_relu(x, 0.2) * SQRT2


def fir(gain, dtype=torch.float32):
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=dtype)
    return torch.outer(f, f) / 64.0 * gain


FIR_UP, FIR_DOWN = fir(4.0), fir(1.0)


def upfirdn2d(x, f, up, down, px0, px1, py0, py1):
    n, c, h, w = x.shape
    x = x.reshape(n * c, 1, h, w)
    if up > 1:
        x = x.reshape(n * c, 1, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n * c, 1, h * up, w * up)
    x = F.pad(x, [px0, px1, py0, py1])
    x = F.conv2d(x, f.flip([0, 1])[None, None])
    x = x[:, :, ::down, ::down]
    return x.reshape(n, c, x.shape[2], x.shape[3])


def fir_up2(x):
    return upfirdn2d(x, FIR_UP, 2, 1, 2, 1, 2, 1)


def fir_down2(x):
    return upfirdn2d(x, FIR_DOWN, 1, 2, 1, 1, 1, 1)


class EqLinear(nn.Module):
    def __init__(self, i, o, lrelu, bias_init=0.0, lr_mul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / lr_mul)
        self.bias = nn.Parameter(torch.full([o], float(bias_init)))
        self.i, self.lrelu, self.lr_mul = i, lrelu, lr_mul

    def forward(self, x):
        y = F.linear(x, self.weight * (self.lr_mul / math.sqrt(self.i)), self.bias * self.lr_mul)
        return lrelu_gain(y) if self.lrelu else y


class EqConv(nn.Module):
    def __init__(self, i, o, k, bias, lrelu, down, gain=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o)) if bias else None
        self.k, self.lrelu, self.down, self.gain = k, lrelu, down, gain

    def forward(self, x):
        h = fir_down2(x) if self.down else x
        wg = 1.0 / math.sqrt(self.weight.shape[1] * self.k * self.k)
        y = F.conv2d(h, self.weight * wg, self.bias, padding=self.k // 2)
        if self.lrelu:
            y = lrelu_gain(y)
        return y if self.gain == 1 else y * self.gain


def channels_at(width, res):
    return 2 * width if res <= 8 else (width if res <= 16 else max(1, width // 2))


class Mapping(nn.Module):
    def __init__(self, z_dim, w_dim, layers):
        super().__init__()
        self.fcs = nn.ModuleList([EqLinear(z_dim if i == 0 else w_dim, w_dim, True, 0, 0.01) for i in range(layers)])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, update=False):
        x = z * torch.rsqrt((z * z).mean(1, keepdim=True) + 1e-8)
        for f in self.fcs:
            x = f(x)
        if update:
            with torch.no_grad():
                self.w_avg.copy_(self.w_avg * 0.995 + x.detach().mean(0) * (1 - 0.995))
        return x


class SynthesisLayer(nn.Module):
    def __init__(self, w_dim, i, o, res, up, to_rgb):
        super().__init__()
        self.affine = EqLinear(w_dim, i, False, 1.0)
        k = 1 if to_rgb else 3
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o))
        if not to_rgb:
            self.noise_strength = nn.Parameter(torch.zeros(1))
        self.i, self.o, self.res, self.up, self.to_rgb = i, o, res, up, to_rgb

    def forward(self, x, w):
        styles = self.affine(w)
        if self.to_rgb:
            y = F.conv2d(x * (styles / math.sqrt(self.i))[:, :, None, None], self.weight)
        else:
            h = fir_up2(x) if self.up else x
            d = torch.rsqrt(styles.square() @ self.weight.square().sum([2, 3]).t() + 1e-8)  # [N, out]
            y = F.conv2d(h * styles[:, :, None, None], self.weight, padding=1) * d[:, :, None, None]
            y = y + torch.randn(x.shape[0], 1, self.res, self.res) * self.noise_strength
        y = y + self.bias.view(1, -1, 1, 1)
        return y if self.to_rgb else lrelu_gain(y)


class Generator(nn.Module):
    def __init__(self, z_dim, w_dim, map_layers, width):
        super().__init__()
        self.mapping = Mapping(z_dim, w_dim, map_layers)
        self.const = nn.Parameter(torch.randn(channels_at(width, 4), 4, 4))
        self.blocks = nn.ModuleList()
        prev = channels_at(width, 4)
        for r in (4, 8, 16, 32):
            ch = channels_at(width, r)
            b = nn.Module()
            b.conv0 = SynthesisLayer(w_dim, prev, ch, r, True, False) if r > 4 else None
            b.conv1 = SynthesisLayer(w_dim, ch if r > 4 else prev, ch, r, False, False)
            b.torgb = SynthesisLayer(w_dim, ch, 1, r, False, True)
            self.blocks.append(b)
            prev = ch
        self.num_ws = 8

    def mapping_ws(self, z, update=False):
        w = self.mapping(z, update)
        return w.unsqueeze(1).expand(w.shape[0], self.num_ws, w.shape[1])

    def synthesis(self, ws):
        x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
        img, i = None, 0
        for b in self.blocks:
            if b.conv0 is not None:
                x = b.conv0(x, ws[:, i])
                i += 1
            x = b.conv1(x, ws[:, i])
            i += 1
            y = b.torgb(x, ws[:, i])
            img = y if img is None else fir_up2(img) + y
        return img


def minibatch_stddev(x, group=4):
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    m = n // g
    y = x.reshape(g, m, c, h, w)
    y = y - y.mean(0, keepdim=True)
    y = torch.sqrt((y * y).mean(0) + 1e-8).mean([1, 2, 3])
    y = y.reshape(1, m, 1, 1, 1).expand(g, m, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], 1)


class Discriminator(nn.Module):
    def __init__(self, width):
        super().__init__()
        h = math.sqrt(0.5)
        self.from_rgb = EqConv(1, channels_at(width, 32), 1, True, True, False)
        self.blocks = nn.ModuleList()
        for r in (32, 16, 8):
            cin, cout = channels_at(width, r), channels_at(width, r // 2)
            b = nn.Module()
            b.skip = EqConv(cin, cout, 1, False, False, True, h)
            b.conv0 = EqConv(cin, cin, 3, True, True, False)
            b.conv1 = EqConv(cin, cout, 3, True, True, True, h)
            self.blocks.append(b)
        c4 = channels_at(width, 4)
        self.epi_conv = EqConv(c4 + 1, c4, 3, True, True, False)
        self.fc = EqLinear(c4 * 16, c4, True)
        self.out = EqLinear(c4, 1, False)

    def forward(self, x):
        h = self.from_rgb(x)
        for b in self.blocks:
            h = b.skip(h) + b.conv1(b.conv0(h))
        h = self.epi_conv(minibatch_stddev(h, 4))
        return self.out(self.fc(h.flatten(1))).view(x.shape[0])


def lazy_adam(params, interval, lr=0.0025, b1=0.0, b2=0.99):
    c = interval / (interval + 1) if interval > 0 else 1.0
    return torch.optim.Adam(params, lr * c, betas=(b1 ** c, b2 ** c))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--r1-interval", type=int, default=16)
    p.add_argument("--pl-weight", type=float, default=0.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print_machine(a.threads)
    torch.manual_seed(1)
    z_dim, w_dim, map_layers, gamma, pl_interval = 64, 64, 2, 0.01, 4
    G, D = Generator(z_dim, w_dim, map_layers, a.width), Discriminator(a.width)
    G_ema = Generator(z_dim, w_dim, map_layers, a.width)
    G_ema.load_state_dict(G.state_dict())
    G_ema.requires_grad_(False)
    opt_g = lazy_adam(G.parameters(), pl_interval if a.pl_weight > 0 else 0)
    opt_d = lazy_adam(D.parameters(), a.r1_interval)
    g_params = list(G.parameters())
    real = torch.rand(a.batch, 1, 28, 28) * 2 - 1
    n, L = a.batch, G.num_ws
    state = {"steps": 0, "images": 0, "pl_mean": torch.zeros(1)}

    def fit(img):
        return img[:, :, 2:30, 2:30]

    def d_in(x):
        return F.pad(x + 1, [2, 2, 2, 2]) - 1

    def mixed_ws(k, update):
        ws = G.mapping_ws(torch.randn(k, z_dim), update)
        u = torch.rand(2)
        if u[0] >= 0.9:
            return ws
        cut = min(L - 1, 1 + int(u[1] * (L - 1)))
        ws2 = G.mapping_ws(torch.randn(k, z_dim), False)
        return torch.cat([ws[:, :cut], ws2[:, cut:]], 1)

    def step():
        G.train(), D.train()
        g_logits = D(d_in(fit(G.synthesis(mixed_ws(n, False)))))
        g_loss = F.softplus(-g_logits).mean()
        for p_, g_ in zip(g_params, torch.autograd.grad(g_loss, g_params)):
            p_.grad = g_
        opt_g.step()
        if a.pl_weight > 0 and state["steps"] % pl_interval == 0:
            ws = mixed_ws(max(1, n // 2), False)
            img = fit(G.synthesis(ws))
            y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
            g = torch.autograd.grad((img * y).sum(), ws, create_graph=True)[0]
            lengths = g.square().sum(2).mean(1).sqrt()
            with torch.no_grad():
                state["pl_mean"] += (lengths.detach().mean() - state["pl_mean"]) * 0.01
            pen = (lengths - state["pl_mean"]).square().mean()
            pen.item()
            gs = torch.autograd.grad(pen * (a.pl_weight * pl_interval), g_params, allow_unused=True)
            for p_, g_ in zip(g_params, gs):
                p_.grad = g_
            opt_g.step()
        with torch.no_grad():
            fake = fit(G.synthesis(mixed_ws(n, True)))
        fake_logits, real_logits = D(d_in(fake)), D(d_in(real))
        d_loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if gamma > 0 and state["steps"] % a.r1_interval == 0:
            x = d_in(real).detach().requires_grad_(True)
            g = torch.autograd.grad(D(x).sum(), x, create_graph=True)[0]
            pen = g.square().sum([1, 2, 3]).mean() * (gamma / 2)
            pen.item()
            opt_d.zero_grad()
            (pen * a.r1_interval).backward()
            opt_d.step()
        with torch.no_grad():
            half = min(10 * 1000.0, state["images"] * 0.05)
            beta = 0.5 ** (n / max(half, 1e-8))
            for pe, p_ in zip(G_ema.parameters(), G.parameters()):
                pe.copy_(p_ + (pe - p_) * beta)
            for be, b_ in zip(G_ema.buffers(), G.buffers()):
                be.copy_(b_)
        state["steps"] += 1
        state["images"] += n
        d_loss.item(), g_loss.item(), torch.sigmoid(real_logits).mean().item(), torch.sigmoid(fake_logits).mean().item()

    median, ms, rss = time_steps(step, a.warmup, a.steps)
    mean = sum(ms) / len(ms)
    count = lambda m: sum(t.numel() for t in m.parameters())
    print(f"pytorch {torch.__version__} stylegan step  batch {a.batch}  width {a.width}  r1 every {a.r1_interval}  "
          f"pl {a.pl_weight:g}  threads {a.threads}: mean {mean:.2f} ms/step (median {median:.2f}, min {ms[0]:.2f}, "
          f"max {ms[-1]:.2f}), {a.batch * 1000 / mean:.0f} images/s, params G {count(G)}, D {count(D)}; "
          f"peak process RSS {rss:.0f} MiB")
    print_result(mean)


if __name__ == "__main__":
    main()
