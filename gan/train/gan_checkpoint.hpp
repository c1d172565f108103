// gan/train/gan_checkpoint.hpp — building any variant by name, and its checkpoints:
// G, D and G_ema ("G.*", "D.*", "G_ema.*"), optimizer state ("opt_g.*", "opt_d.*") and
// metadata (format, variant, every GanConfig field, step, epoch, optimizer step counts,
// the latent RNG state), one safetensors file that Python's safetensors can open.
#pragma once
#include <memory>
#include <string>

#include "gan/train/gan_model.hpp"

namespace gantry::gan {

// Builds the model a config names (config.variant), initialized from `seed`, on the cpu.
// Throws on an unknown variant, listing the known ones.
std::unique_ptr<GanModel> make_gan(const GanConfig& c, uint64_t seed);

// Writes m (from whatever device it is on) with the step and epoch it has reached.
void save_gan_checkpoint(const std::string& path, const GanModel& m, int64_t step, int64_t epoch);

struct LoadedGan {
  std::unique_ptr<GanModel> model;  // on the cpu
  int64_t step = 0, epoch = 0;
};
// Builds the model from a checkpoint's metadata and loads every tensor and the optimizer
// and RNG state. Throws naming the file when it is not a gantry GAN checkpoint, names an
// unknown variant, or its tensors do not fit the model.
LoadedGan load_gan_checkpoint(const std::string& path);

}  // namespace gantry::gan
