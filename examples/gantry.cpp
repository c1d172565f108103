// examples/gantry.cpp — the `gantry` command: train a GAN, sample from a checkpoint.
//   gantry train <variant> [--epochs N] [--batch-size B] [--device cpu|cuda] [--data DIR]
//                [--out DIR] [--seed S] [--resume CKPT] [--threads T] [the variant's flags]
//     (the variants and their flags come from the registry: gantry train --help,
//      gantry train <variant> --help)
//   gantry train toy [--target ring8|grid25] [--loss bce|wgan-gp] [--unroll K] [--steps N] ...
//   mpirun -np N gantry train <variant> [--sync-bn] ...: data-parallel over N processes,
//     detected from the launch (docs/distributed.md); --batch-size stays the global batch
//   gantry sample --checkpoint F [--n N] [--seed S] [--class K] --out FILE [--format png|idx]
//                [--truncation PSI] [--noise-mode const|random|none] [--style-mix]   (stylegan)
//   gantry translate --checkpoint F --direction a2b|b2a --input (IDX | PNG/JPEG | folder) --out (PNG | folder | IDX)
//   gantry eval --samples F.idx [--labels L.idx] | --checkpoint F [--n N] [--seed S] | --test-set
//   gantry classifier train [--epochs N] [--out F] [--threads T]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "core/anomaly.hpp"
#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/train/trainer.hpp"
#include "nn/dist/comm.hpp"
#include "gan/zoo/cyclegan.hpp"
#include "eval_commands.hpp"
#include "toy_flags.hpp"
#include "train_flags.hpp"

using namespace gantry;

namespace {

// Every rank trains; rank 0 alone prints (and writes files).
int run_train(const gan::TrainOptions& o) {
  if (o.detect_anomaly) set_detect_anomaly(true);
  dist::Communicator& comm = dist::Communicator::world();
  if (!comm.is_main()) return gan::train(o), 0;
  const bool two = gan::find_variant(o.variant).data == gan::DataKind::two_domains;
  std::string data = o.data_dir.empty() ? gan::default_data_dir() : o.data_dir;
  if (two) data = o.data_a.empty() ? data + " (domains A and B from its classes)" : o.data_a + " and " + o.data_b;
  std::printf("gantry: training %s on %s (%s), %lld epochs, batch %lld, seed %llu%s\n", o.variant.c_str(),
              data.c_str(), o.device.c_str(),
              (long long)o.epochs, (long long)o.batch_size, (unsigned long long)o.seed,
              o.resume.empty() ? "" : (", resuming from " + o.resume).c_str());
  if (comm.distributed())
    std::printf("gantry: data-parallel on %d processes, %lld images each per step, %s batch norm\n", comm.size(),
                (long long)(o.batch_size / comm.size()), o.sync_bn ? "synchronized" : "local");
  std::fflush(stdout);
  gan::TrainResult r = gan::train(o);
  if (r.epochs == 0) {
    std::printf("gantry: nothing to do (the checkpoint is already at epoch %lld of %lld)\n", (long long)r.start_epoch,
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
               const std::string& format, const std::map<std::string, std::string>& options) {
  gan::LoadedGan loaded = gan::load_gan_checkpoint(checkpoint);
  // Variant options (--truncation, --noise-mode, --style-mix): the model applies them or refuses.
  std::optional<gan::SampleGrid> grid = loaded.model->sample_options(options, n, seed);
  gan::Samples s = grid ? gan::Samples{grid->images, grid->nrow}
                        : gan::draw_samples(*loaded.model, n, seed, class_index, checkpoint);
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
              checkpoint.c_str(), loaded.model->variant().c_str(), (long long)loaded.step, out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gantry: a from-scratch autograd engine and GAN zoo. Train a GAN, then sample from it."};
  app.require_subcommand(1);

  gan::TrainOptions t;
  cli::TrainCommands train_commands;
  auto* train = cli::add_train_commands(app, t, train_commands);
  gan::ToyOptions toy;
  auto* train_toy = train->add_subcommand("toy", "The 2-D mode-collapse toy (docs/toy.md): bce, unrolled bce or wgan-gp "
                                                 "on ring8 or grid25 (not an image variant)");
  cli::add_toy_flags(train_toy, toy);

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
  double truncation = 1;
  std::string noise_mode;
  bool style_mix = false;
  sample->add_option("--truncation", truncation, "stylegan: truncation psi (w_avg + psi (w - w_avg)); 1: none")
      ->check(CLI::Range(-10.0, 10.0));
  sample->add_option("--noise-mode", noise_mode, "stylegan: per-pixel noise const (default), random or none")
      ->check(CLI::IsMember({"const", "random", "none"}));
  sample->add_flag("--style-mix", style_mix, "stylegan: the style-mixing grid (rows take coarse styles from columns)");

  std::string tr_checkpoint, tr_direction, tr_input, tr_out;
  auto* translate = app.add_subcommand("translate", "Translate images with an image-to-image checkpoint (cyclegan)");
  translate->add_option("--checkpoint", tr_checkpoint, "A checkpoint written by gantry train cyclegan")->required();
  translate->add_option("--direction", tr_direction, "a2b (G_AB) or b2a (G_BA)")
      ->required()
      ->check(CLI::IsMember({"a2b", "b2a"}));
  translate->add_option("--input", tr_input, "An IDX image file, a PNG/JPEG file, or a folder of them")->required();
  translate->add_option("--out", tr_out, "A .png (one image, or a grid), an IDX file (.idx, *-ubyte), or a folder")
      ->required();

  cli::EvalCommands eval_commands;
  cli::add_eval_commands(app, eval_commands);

  // `gantry train NAME` with a name no variant has: the registry's error, listing them.
  if (argc > 2 && std::string(argv[1]) == "train" && argv[2][0] != '-' && std::string(argv[2]) != "toy") {
    try {
      gan::find_variant(argv[2]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gantry: %s\n", e.what());
      return 1;
    }
  }
  CLI11_PARSE(app, argc, argv);
  try {
    if (auto rc = cli::run_eval_commands(eval_commands, argc, argv)) return *rc;
    if (*train_toy) return cli::run_toy(toy);
    if (*train) {
      cli::finish_train_options(train_commands, t);
      return dist::run([&] { return run_train(t); });  // an error on any rank ends every rank, naming it
    }
    if (*translate) {
      const int64_t n = gan::translate_files(tr_checkpoint, tr_direction, tr_input, tr_out);
      std::printf("gantry: translated %lld image%s %s with %s to %s\n", (long long)n, n == 1 ? "" : "s",
                  tr_direction.c_str(), tr_checkpoint.c_str(), tr_out.c_str());
      return 0;
    }
    if (sample->count("--class")) {
      GANTRY_CHECK(class_index >= 0, "--class ", class_index, ": a class index is 0 or more");
    }
    std::map<std::string, std::string> options;
    if (sample->count("--truncation")) options["truncation"] = std::to_string(truncation);
    if (sample->count("--noise-mode")) options["noise_mode"] = noise_mode;
    if (style_mix) options["style_mix"] = "1";
    return run_sample(checkpoint, n, seed, class_index, out, format, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry: %s\n", e.what());
    return 1;
  }
}
