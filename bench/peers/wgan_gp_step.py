"""bench/peers/wgan_gp_step.py — the same WGAN-GP step as bench/wgan_gp_step.cpp, in PyTorch.

Same model (gan/zoo/wgan_gp.cpp: DCGAN's generator; the critic Conv 1->f 4/2/1, LeakyReLU
0.2, Conv f->2f 4/2/1, LayerNorm [2f, 7, 7], LeakyReLU 0.2, Conv 2f->1 7/1/0, no biases),
same init (conv N(0, 0.02), batchnorm weight N(1, 0.02)), same step (CriticGan::step):
--n-critic K critic steps, each: fake = G(z) without grad, L = mean D(fake) - mean D(real)
+ 10 mean_n (sqrt(|grad_x^ sum D(x^)|_n^2 + 1e-12) - 1)^2 at x^ = a real + (1 - a) fake,
a ~ U(0, 1) per sample, the input gradient with create_graph (a double backward), Adam
1e-4 (0, 0.9); then one G step on -mean D(G(z)) with gradients for G's parameters only
(torch.autograd.grad, as gantry's set_grads). The losses are read with .item() as
gantry's step does. Median ms per step over --steps after --warmup.
Run through bench/run_wgan_gp_step.sh, which sets the threads fairly.
"""
import argparse

import torch
import torch.nn as nn
from dcgan_step import dcgan_init, generator
from step_timer import print_machine, print_result, time_steps


def critic(f):
    return nn.Sequential(
        nn.Conv2d(1, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.LayerNorm([2 * f, 7, 7]), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * f, 1, 7, 1, 0, bias=False))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n-critic", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print_machine(a.threads)
    torch.manual_seed(1)
    z_dim, lam = 100, 10.0
    G, D = generator(z_dim, a.width), critic(a.width)
    G.apply(dcgan_init)
    D.apply(dcgan_init)  # conv weights; layer norm keeps weight 1, bias 0
    opt_g = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    real = torch.rand(a.batch, 1, 28, 28) * 2 - 1
    g_params = list(G.parameters())

    def critic_step():
        with torch.no_grad():
            fake = G(torch.randn(a.batch, z_dim, 1, 1))
        d_real, d_fake = D(real).mean(), D(fake).mean()
        w = torch.rand(a.batch, 1, 1, 1)
        x_hat = (w * real + (1 - w) * fake).requires_grad_(True)
        g = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0]
        gp = lam * ((g.pow(2).flatten(1).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
        total = d_fake - d_real + gp
        opt_d.zero_grad()
        total.backward()
        opt_d.step()
        return total.item(), d_real.item(), d_fake.item(), gp.item()

    def step():
        for _ in range(a.n_critic):
            critic_step()
        g_loss = -D(G(torch.randn(a.batch, z_dim, 1, 1))).mean()
        for p_, g_ in zip(g_params, torch.autograd.grad(g_loss, g_params)):
            p_.grad = g_
        opt_g.step()
        g_loss.item()

    median, ms, rss = time_steps(step, a.warmup, a.steps)
    print(f"pytorch {torch.__version__} wgan-gp step ({a.n_critic} critic + 1 G)  batch {a.batch}  width {a.width}  "
          f"threads {a.threads}: median {median:.2f} ms/step (min {ms[0]:.2f}, max {ms[-1]:.2f}), "
          f"{a.batch * a.n_critic * 1000 / median:.0f} images/s, peak process RSS {rss:.0f} MiB")
    print_result(median)


if __name__ == "__main__":
    main()
