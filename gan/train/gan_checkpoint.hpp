// gan/train/gan_checkpoint.hpp — a model's checkpoint, one safetensors file that Python's
// safetensors can open: its nets ("G.*", "D.*", "G_ema.*", ...), each optimizer's state
// ("opt_<name>.*"), the model's own extra state ("state.*", GanModel::save_state) and
// metadata (format "gantry-gan-2"):
//   variant, image_size, channels, hp.<name> for each hyperparameter, step, epoch,
//   opt_<name>_steps, noise_seed, noise_offset, state.<key>.
// Files of the earlier layout "gantry-gan-1" (every GanConfig field flat: z_dim, width, lr,
// n_critic, ...) still load. Every field goes through the range checks of its flag; an
// error names the file and the key.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "gan/train/model.hpp"

namespace gantry::gan {

// Writes m (from whatever device it is on) with the step and epoch it has reached.
void save_gan_checkpoint(const std::string& path, const GanModel& m, int64_t step, int64_t epoch);

struct LoadedGan {
  std::unique_ptr<GanModel> model;  // on the cpu
  int64_t step = 0, epoch = 0;
};
// Builds the model from a checkpoint's metadata and loads every tensor and the optimizer
// and RNG state. Throws naming the file when it is not a gantry GAN checkpoint, names an
// unknown variant, holds a field out of range, or its tensors do not fit the model.
LoadedGan load_gan_checkpoint(const std::string& path);

// The metadata a checkpoint of m at (step, epoch) holds.
std::map<std::string, std::string> checkpoint_metadata(const GanModel& m, int64_t step, int64_t epoch);

// The largest epoch and step a checkpoint (or --epochs) may name.
constexpr int64_t kMaxEpochs = 100000;
constexpr int64_t kMaxSteps = 1'000'000'000'000;

}  // namespace gantry::gan
