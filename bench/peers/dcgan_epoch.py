"""bench/peers/dcgan_epoch.py — what `gantry train dcgan --epochs E --limit N` does, in PyTorch:
the same model and step as bench/peers/dcgan_step.py (gan/zoo/dcgan.cpp, BceGan::bce_step),
and the same work around the steps (gan/train/trainer.cpp):

- data: read the gzipped IDX images and labels of Fashion-MNIST (gzip + torch.frombuffer;
  Debian's torch here has no numpy), keep the first N, scale to [-1, 1];
- per epoch: a fresh permutation, floor(N / B) batches of B (the last partial one dropped),
  each gathered by index; after every step the four losses (d_loss, g_loss, mean
  sigmoid of the real and fake logits) read with .item() and written as one CSV row,
  flushed;
- after every epoch: 64 samples from fixed latents with G in eval mode, written as an
  8x8 grid PNG (padding 2, scale 2; zlib + the PNG chunks by hand, no PIL here), and a
  checkpoint of G, D and both Adam states (torch.save, written to a temporary file and
  renamed, as gantry's safetensors file is).

Differences, stated: gantry's shuffle and latents come from its own Philox stream, so the
two runs see different orders and numbers (same amounts of work); gantry's checkpoint is
safetensors with JSON metadata, this one torch's pickle zip; gantry writes a progress bar
(here none, run gantry with --no-progress to match). Prints the seconds from the start of
main (after `import torch`), and the line bench/run_epoch_pair.sh reads.
"""
import argparse
import gzip
import os
import struct
import time
import zlib

import torch
from dcgan_step import bce_step, dcgan_init, discriminator, generator


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4:4 + 4 * (magic & 0xFF)])
    return torch.frombuffer(bytearray(raw[4 + 4 * len(dims):]), dtype=torch.uint8).view(*dims)


def write_png_gray(path, img):
    """img: uint8 [H, W]; one IDAT, filter 0 on every row."""
    h, w = img.shape
    rows = b"".join(b"\x00" + bytes(img[r].tolist()) for r in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def save_grid(path, images, nrow=8, padding=2, scale=2):
    n, _, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.zeros(rows * (h + padding) + padding, nrow * (w + padding) + padding)
    for k in range(n):
        r, c = divmod(k, nrow)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[y:y + h, x:x + w] = images[k, 0]
    grid = ((grid.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    grid = grid.repeat_interleave(scale, 0).repeat_interleave(scale, 1)
    write_png_gray(path, grid)


def main():
    t_start = time.perf_counter()
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    os.makedirs(a.out, exist_ok=True)

    images = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    n = images.shape[0] if a.limit == 0 else min(a.limit, images.shape[0])
    data = images[:n].float().div(127.5).sub(1.0).unsqueeze(1).contiguous()
    labels = labels[:n].long()

    z_dim, bs = 100, a.batch_size
    G, D = generator(z_dim, a.width), discriminator(a.width)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    g_params = list(G.parameters())
    fixed = torch.randn(64, z_dim, 1, 1, generator=torch.Generator().manual_seed(0xF1A5))

    def step(real):
        G.train(), D.train()
        d_loss, g_loss, real_logits, fake_logits = bce_step(
            G, D, opt_d, opt_g, g_params, real, torch.randn(real.shape[0], z_dim, 1, 1))
        with torch.no_grad():
            return (d_loss.item(), g_loss.item(), torch.sigmoid(real_logits).mean().item(),
                    torch.sigmoid(fake_logits).mean().item())

    step_no = 0
    with open(os.path.join(a.out, "log.csv"), "w") as log:
        log.write("epoch,step,d_loss,g_loss,d_real,d_fake\n")
        for epoch in range(a.epochs):
            order = torch.randperm(n)
            for b in range(n // bs):
                l = step(data[order[b * bs:(b + 1) * bs]])
                step_no += 1
                log.write(f"{epoch + 1},{step_no}," + ",".join(f"{v:.6g}" for v in l) + "\n")
                log.flush()
            G.eval()
            with torch.no_grad():
                grid = G(fixed)
            G.train()
            save_grid(os.path.join(a.out, f"samples_epoch_{epoch + 1:03d}.png"), grid)
            ckpt = os.path.join(a.out, "checkpoint.pt")
            torch.save({"G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict(),
                        "opt_d": opt_d.state_dict(), "step": step_no, "epoch": epoch + 1}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    seconds = time.perf_counter() - t_start
    print(f"pytorch {torch.__version__} dcgan: {a.epochs} epoch(s), {n} images, {step_no} steps of {bs}, "
          f"threads {a.threads}: {seconds:.2f} s from main (after import torch)")
    print(f"RESULT pytorch {seconds:.4f}")


if __name__ == "__main__":
    main()
