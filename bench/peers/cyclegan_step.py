"""bench/peers/cyclegan_step.py — the same CycleGAN step as bench/cyclegan_step.cpp, in PyTorch.

Defaults: the 28 px sizes of gan::cyclegan_small_config() (ngf 8, 2 blocks, ndf 16, n_layers 2), batch 1.

Same model (gan/zoo/cyclegan_nets.cpp, the reference's ResnetGenerator and
NLayerDiscriminator with instance norm, conv biases kept), same init N(0, 0.02), same
step as the reference's CycleGANModel.optimize_parameters: G_AB and G_BA under one Adam
on LSGAN + cycle (lambda 10) + identity (0.5 lambda) with D frozen, then D_A and D_B
under one Adam on halved LSGAN losses over 50-image pools. Median ms/step over --steps
after --warmup. Run through bench/run_cyclegan_step.sh, which sets the threads fairly.
"""
import argparse
import itertools
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from step_timer import print_machine, print_result, time_steps


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


def resnet_generator(c, f, blocks):
    m = [nn.ReflectionPad2d(3), nn.Conv2d(c, f, 7), nn.InstanceNorm2d(f), nn.ReLU(True)]
    for mult in (1, 2):
        m += [nn.Conv2d(f * mult, f * mult * 2, 3, 2, 1), nn.InstanceNorm2d(f * mult * 2), nn.ReLU(True)]
    m += [ResnetBlock(4 * f) for _ in range(blocks)]
    for mult in (4, 2):
        m += [nn.ConvTranspose2d(f * mult, f * mult // 2, 3, 2, 1, output_padding=1),
              nn.InstanceNorm2d(f * mult // 2), nn.ReLU(True)]
    m += [nn.ReflectionPad2d(3), nn.Conv2d(f, c, 7), nn.Tanh()]
    return nn.Sequential(*m)


def patch_discriminator(c, f, n_layers):
    m = [nn.Conv2d(c, f, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2 ** n, 8)
        m += [nn.Conv2d(f * prev, f * mult, 4, 2 if n < n_layers else 1, 1), nn.InstanceNorm2d(f * mult),
              nn.LeakyReLU(0.2, True)]
    m += [nn.Conv2d(f * mult, 1, 4, 1, 1)]
    return nn.Sequential(*m)


def init_normal(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)


class ImagePool:  # the reference's util/image_pool.py
    def __init__(self, size):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--ngf", type=int, default=8)
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--ndf", type=int, default=16)
    p.add_argument("--n-layers", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print_machine(a.threads)
    torch.manual_seed(1)
    random.seed(1)
    G_AB, G_BA = resnet_generator(1, a.ngf, a.blocks), resnet_generator(1, a.ngf, a.blocks)
    D_A, D_B = patch_discriminator(1, a.ndf, a.n_layers), patch_discriminator(1, a.ndf, a.n_layers)
    for net in (G_AB, G_BA, D_A, D_B):
        net.apply(init_normal)
    opt_G = torch.optim.Adam(itertools.chain(G_AB.parameters(), G_BA.parameters()), 2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), 2e-4, betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(50), ImagePool(50)
    real_a = torch.rand(a.batch, 1, a.size, a.size) * 2 - 1
    real_b = torch.rand(a.batch, 1, a.size, a.size) * 2 - 1

    def gan(pred, real):
        return F.mse_loss(pred, torch.full_like(pred, 1.0 if real else 0.0))

    def step():
        fake_b, fake_a = G_AB(real_a), G_BA(real_b)
        rec_a, rec_b = G_BA(fake_b), G_AB(fake_a)
        for d in (D_A, D_B):
            d.requires_grad_(False)
        opt_G.zero_grad()
        loss_g = (gan(D_A(fake_b), True) + gan(D_B(fake_a), True)
                  + 10 * F.l1_loss(rec_a, real_a) + 10 * F.l1_loss(rec_b, real_b)
                  + 5 * F.l1_loss(G_AB(real_b), real_b) + 5 * F.l1_loss(G_BA(real_a), real_a))
        loss_g.backward()
        opt_G.step()
        for d in (D_A, D_B):
            d.requires_grad_(True)
        opt_D.zero_grad()
        for d, real, fake in ((D_A, real_b, pool_b.query(fake_b)), (D_B, real_a, pool_a.query(fake_a))):
            ((gan(d(real), True) + gan(d(fake.detach()), False)) * 0.5).backward()
        opt_D.step()

    median, ms, rss = time_steps(step, a.warmup, a.steps)
    n_g = sum(t.numel() for t in G_AB.parameters())
    n_d = sum(t.numel() for t in D_A.parameters())
    print(f"pytorch {torch.__version__} cyclegan step  batch {a.batch}  size {a.size}  ngf {a.ngf} blocks {a.blocks} "
          f"ndf {a.ndf} n_layers {a.n_layers}  threads {a.threads}: median {median:.2f} ms/step "
          f"(min {ms[0]:.2f}, max {ms[-1]:.2f}), {a.batch * 1000 / median:.0f} image pairs/s; params G {n_g}, D {n_d} "
          f"each; peak process RSS {rss:.0f} MiB")
    print_result(median)


if __name__ == "__main__":
    main()
