// gan/trainer.hpp — the training loop behind `gantry train`: data, steps, a
// progress bar, and each epoch a sample grid from fixed latents, a checkpoint and
// the losses appended to a CSV. --resume continues from a checkpoint's step with
// the same data order, latents and optimizer state, so (on the CPU, same seed and
// threads) the resumed run's losses equal the uninterrupted run's.
#pragma once
#include <string>
#include <vector>

#include "gan/dcgan_step.hpp"

namespace gantry::gan {

struct TrainOptions {
  std::string variant = "dcgan";
  int64_t epochs = 2;
  int64_t batch_size = 64;
  int64_t width = 32;      // channels scale of G and D
  int64_t z_dim = 100;
  int64_t limit = 0;       // use only the first `limit` training images (0 = all)
  bool pad32 = false;      // train at 32x32 (zero-padded) instead of 28x28
  std::vector<int> classes;
  std::string data_dir;    // empty: gan::default_data_dir()
  std::string out_dir = "runs/dcgan";
  std::string resume;      // checkpoint to continue from
  uint64_t seed = 0;
  int threads = 0;         // 0: OpenMP's default
  double real_label = 1.0;
  bool progress = true;
};

struct TrainResult {
  std::string checkpoint, samples, log;
  int64_t steps = 0, epochs = 0;
  double seconds = 0, images_per_second = 0;
  std::vector<StepLosses> losses;  // every step this run took
};

TrainResult train(const TrainOptions& o);

// Checkpoint I/O for a DcganModel: G and D ("G.*", "D.*"), optimizer state
// ("opt_g.*", "opt_d.*") and metadata (config, step, epoch, latent RNG state).
void save_dcgan_checkpoint(const std::string& path, const DcganModel& m, int64_t step, int64_t epoch);
// Builds a model from a checkpoint's metadata and loads every tensor; returns it with
// the step and epoch it was saved at.
struct LoadedDcgan {
  std::unique_ptr<DcganModel> model;
  int64_t step = 0, epoch = 0;
  uint64_t seed = 0;
};
LoadedDcgan load_dcgan_checkpoint(const std::string& path);

}  // namespace gantry::gan
