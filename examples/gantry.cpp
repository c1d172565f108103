// examples/gantry.cpp — the `gantry` command: train a GAN, sample from a checkpoint.
//   gantry train <dcgan|vanilla|cgan|wgan|wgan-gp> [--epochs N] [--batch-size B] [--device cpu|cuda]
//                [--data DIR] [--out DIR] [--seed S] [--resume CKPT] [--threads T] ...
//   gantry sample --checkpoint F [--n N] [--seed S] [--class K] --out FILE [--format png|idx]
//   gantry eval --samples F.idx [--labels L.idx] | --checkpoint F [--n N] [--seed S] | --test-set
//   gantry classifier train [--epochs N] [--out F] [--threads T]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>

#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/train/trainer.hpp"
#include "eval_commands.hpp"

using namespace gantry;

namespace {

int run_train(const gan::TrainOptions& o) {
  std::printf("gantry: training %s on %s (%s), %lld epochs, batch %lld, seed %llu%s\n", o.variant.c_str(),
              o.data_dir.empty() ? gan::default_data_dir().c_str() : o.data_dir.c_str(), o.device.c_str(),
              (long long)o.epochs, (long long)o.batch_size, (unsigned long long)o.seed,
              o.resume.empty() ? "" : (", resuming from " + o.resume).c_str());
  std::fflush(stdout);
  gan::TrainResult r = gan::train(o);
  if (r.epochs == 0) {
    std::printf("gantry: nothing to do (the checkpoint is already at epoch %lld of %lld)\n", (long long)r.epochs,
                (long long)o.epochs);
    return 0;
  }
  std::printf("\ngantry: trained %lld steps in %.1f s (%.0f images/s)\n", (long long)r.steps, r.seconds,
              r.images_per_second);
  std::printf("  samples     %s\n  checkpoint  %s\n  losses      %s\n", r.samples.c_str(), r.checkpoint.c_str(),
              r.log.c_str());
  std::printf("  more samples: gantry sample --checkpoint %s --out samples.png\n", r.checkpoint.c_str());
  return 0;
}

int run_sample(const std::string& checkpoint, int64_t n, uint64_t seed, int64_t class_index, const std::string& out,
               const std::string& format) {
  gan::LoadedGan loaded = gan::load_gan_checkpoint(checkpoint);
  gan::Samples s = gan::draw_samples(*loaded.model, n, seed, class_index, checkpoint);
  Tensor images = s.images.to(Device::cpu());
  if (format == "idx") {
    // [-1, 1] -> 0..255 bytes, one IDX image file any tool can read.
    gan::IdxImages idx{images.size(0), images.size(2), images.size(3), {}};
    for (float v : images.to_vector<float>())
      idx.pixels.push_back((uint8_t)std::lround(std::clamp((v + 1.0f) * 127.5f, 0.0f, 255.0f)));
    gan::write_idx_images(out, idx);
  } else {
    gan::save_image_grid(out, images, s.nrow, 2, 2);
  }
  std::printf("gantry: wrote %lld samples from %s (%s, step %lld) to %s\n", (long long)images.size(0),
              checkpoint.c_str(), loaded.model->config.variant.c_str(), (long long)loaded.step, out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gantry: a from-scratch autograd engine and GAN zoo. Train a GAN, then sample from it."};
  app.require_subcommand(1);

  gan::TrainOptions t;
  auto* train = app.add_subcommand("train", "Train a GAN on Fashion-MNIST (or any IDX data set)");
  train->add_option("variant", t.variant, "Which GAN: dcgan, vanilla, cgan, wgan, wgan-gp")
      ->check(CLI::IsMember(gan::variant_names()))
      ->required();
  train->add_option("--epochs", t.epochs, "Passes over the data")->check(CLI::Range(0, 100000));
  train->add_option("--batch-size", t.batch_size, "Images per step")->check(CLI::Range(1, 65536));
  train->add_option("--device", t.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  train->add_option("--data", t.data_dir, "Folder with the IDX files (default: $GANTRY_DATA or " +
                                              gan::default_data_dir() + ")");
  auto* out_dir = train->add_option("--out", t.out_dir, "Where samples, checkpoints and the loss log go (default: runs/<variant>)");
  train->add_option("--seed", t.seed, "Seed for initialization, data order and latents");
  train->add_option("--resume", t.resume, "Continue from this checkpoint")->check(CLI::ExistingFile);
  train->add_option("--threads", t.threads, "CPU threads (default: all)")->check(CLI::Range(1, 1024));
  train->add_option("--width", t.width, "Channel width of the conv nets (DCGAN's ngf/ndf / 2)")
      ->check(CLI::Range(1, 1024));
  train->add_option("--limit", t.limit, "Train on the first N images only (0: all)")->check(CLI::Range(0, 100000000));
  train->add_flag("--pad32", t.pad32, "Train at 32x32 (zero-padded) instead of 28x28");
  train->add_option("--real-label", t.real_label, "Target for real images (0.9: one-sided label smoothing)")
      ->check(CLI::Range(0.5, 1.0));
  train->add_option("--lr", t.lr, "Learning rate (default: the variant's paper value)")->check(CLI::Range(0.0, 1.0));
  train->add_option("--beta1", t.beta1, "Adam beta1 (default: 0.5; wgan-gp 0, as in the paper)")
      ->check(CLI::Range(0.0, 0.999999));
  train->add_option("--beta2", t.beta2, "Adam beta2 (default: 0.999; wgan-gp 0.9)")->check(CLI::Range(0.0, 0.999999));
  train->add_option("--n-critic", t.n_critic, "Critic steps per G step (default: 5 for the WGANs, else 1)")
      ->check(CLI::Range(1, 1000));
  train->add_option("--clip", t.clip, "wgan: clip critic weights to [-c, c]")->check(CLI::Range(0.0, 100.0));
  train->add_option("--gp-lambda", t.gp_lambda, "wgan-gp: gradient penalty weight")->check(CLI::Range(0.0, 1e6));
  train->add_flag("!--no-critic-norm", t.critic_layer_norm, "wgan-gp: no layer norm in the critic");
  train->add_option("--instance-noise", t.instance_noise,
                    "Std of Gaussian noise added to D's inputs, annealed linearly to 0 over training")
      ->check(CLI::Range(0.0, 10.0));
  train->add_option("--ema", t.ema, "Keep an EMA of G's weights with this decay (e.g. 0.999), used for samples")
      ->check(CLI::Range(0.0, 0.999999));
  train->add_option("--eval-every", t.eval_every,
                    "Every K epochs (and after the last) judge 28x28 samples with the classifier: <out>/metrics.csv")
      ->check(CLI::Range(0, 100000));
  train->add_option("--eval-n", t.eval_n, "Samples per evaluation")->check(CLI::Range(2, 1000000));
  train->add_option("--classifier", t.classifier, "Classifier weights for --eval-every (default: the shipped ones)")
      ->check(CLI::ExistingFile);
  train->add_flag("!--no-progress", t.progress, "No progress bar");

  std::string checkpoint, out, format = "png";
  int64_t n = 64, class_index = -1;
  uint64_t seed = 0;
  auto* sample = app.add_subcommand("sample", "Write samples from a trained checkpoint");
  sample->add_option("--checkpoint", checkpoint, "A checkpoint written by gantry train")
      ->required()
      ->check(CLI::ExistingFile);
  sample->add_option("--n", n, "How many samples")->check(CLI::Range(1, 100000));
  sample->add_option("--seed", seed, "Seed of the latents");
  sample->add_option("--class", class_index,
                     "cgan: draw this class (default: a grid with one class per row)");
  sample->add_option("--out", out, "Output file (.png grid, or IDX with --format idx)")->required();
  sample->add_option("--format", format, "png or idx")->check(CLI::IsMember({"png", "idx"}));

  cli::EvalCommands eval_commands;
  cli::add_eval_commands(app, eval_commands);

  CLI11_PARSE(app, argc, argv);
  try {
    if (auto rc = cli::run_eval_commands(eval_commands, argc, argv)) return *rc;
    if (*train) {
      if (!out_dir->count()) t.out_dir = "runs/" + t.variant;
      return run_train(t);
    }
    if (sample->count("--class")) {
      GANTRY_CHECK(class_index >= 0, "--class ", class_index, ": a class index is 0 or more");
    }
    return run_sample(checkpoint, n, seed, class_index, out, format);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry: %s\n", e.what());
    return 1;
  }
}
