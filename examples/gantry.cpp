// examples/gantry.cpp — the `gantry` command: train a GAN, sample from a checkpoint. The flags
// are parsed and checked by examples/gantry_cli.hpp; main runs what it parsed.
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

#include "core/threads.hpp"
#include "core/anomaly.hpp"
#include "gan/data/dataset.hpp"
#include "gan/eval/image_grid.hpp"
#include "gan/train/trainer.hpp"
#include "nn/dist/comm.hpp"
#include "gan/zoo/cyclegan.hpp"
#include "gantry_cli.hpp"

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
  std::printf("gantry: training %s on %s (%s), %lld epochs, batch %lld, seed %llu%s\n", o.variant.c_str(), data.c_str(),
              o.device.c_str(), (long long)o.epochs, (long long)o.batch_size, (unsigned long long)o.seed,
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
  gantry::bound_openmp_spinning(argv);  // before any OpenMP use (core/threads.hpp)
  cli::GantryCli cmd;
  cli::Command what;
  try {
    what = cmd.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cmd.app.exit(e);  // --help, or the flag that is wrong
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry: %s\n", e.what());
    return 1;
  }
  try {
    switch (what) {
      case cli::Command::eval:
      case cli::Command::classifier_train: return *cli::run_eval_commands(cmd.eval);
      case cli::Command::train_toy: return cli::run_toy(cmd.toy);
      case cli::Command::train:
        return dist::run([&] { return run_train(cmd.train); });  // an error on any rank ends every rank, naming it
      case cli::Command::translate: {
        const cli::TranslateArgs& t = cmd.translate;
        const int64_t n = gan::translate_files(t.checkpoint, t.direction, t.input, t.out);
        std::printf("gantry: translated %lld image%s %s with %s to %s\n", (long long)n, n == 1 ? "" : "s",
                    t.direction.c_str(), t.checkpoint.c_str(), t.out.c_str());
        return 0;
      }
      case cli::Command::sample: {
        const cli::SampleArgs& s = cmd.sample;
        return run_sample(s.checkpoint, s.n, s.seed, s.class_index, s.out, s.format, s.options);
      }
    }
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry: %s\n", e.what());
    return 1;
  }
}
