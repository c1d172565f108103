"""bench/peers/dcgan_step.py — the same DCGAN step as bench/dcgan_step.cpp, in PyTorch.

Same model (gan/zoo/dcgan.cpp: 28x28, z 100, width F), same init, same step: D takes
Adam on BCE over a real and a detached fake batch; G takes Adam on the
non-saturating loss, with gradients for G's parameters only (torch.autograd.grad,
as gantry's trainer does). Median ms/step over --steps after --warmup.
Run through bench/run_dcgan_step.sh, which sets the threads fairly.
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from step_timer import print_machine, print_result, time_steps


def generator(z_dim, f):
    return nn.Sequential(
        nn.ConvTranspose2d(z_dim, 4 * f, 7, 1, 0, bias=False), nn.BatchNorm2d(4 * f), nn.ReLU(),
        nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.ReLU(),
        nn.ConvTranspose2d(2 * f, 1, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(f):
    return nn.Sequential(
        nn.Conv2d(1, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * f, 1, 7, 1, 0, bias=False))


def dcgan_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def bce_step(G, D, opt_d, opt_g, g_params, real, z):
    """One DCGAN step (BceGan::bce_step): D's Adam step on BCE over real and the detached
    fake G(z), then G's on the non-saturating loss, grads for G's parameters only.
    Returns (d_loss, g_loss, real_logits, fake_logits)."""
    fake = G(z)
    real_logits, fake_logits = D(real).view(-1), D(fake.detach()).view(-1)
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_logits = D(fake).view(-1)
    g_loss = F.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
    for p_, g_ in zip(g_params, torch.autograd.grad(g_loss, g_params)):
        p_.grad = g_
    opt_g.step()
    return d_loss, g_loss, real_logits, fake_logits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print_machine(a.threads)
    torch.manual_seed(1)
    z_dim = 100
    G, D = generator(z_dim, a.width), discriminator(a.width)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(a.batch, 1, 28, 28) * 2 - 1
    g_params = list(G.parameters())

    def step():
        bce_step(G, D, opt_d, opt_g, g_params, real, torch.randn(a.batch, z_dim, 1, 1))

    median, ms, rss = time_steps(step, a.warmup, a.steps)
    print(f"pytorch {torch.__version__} dcgan step  batch {a.batch}  width {a.width}  threads {a.threads}: "
          f"median {median:.2f} ms/step (min {ms[0]:.2f}, max {ms[-1]:.2f}), {a.batch * 1000 / median:.0f} images/s, "
          f"peak process RSS {rss:.0f} MiB")
    print_result(median)


if __name__ == "__main__":
    main()
