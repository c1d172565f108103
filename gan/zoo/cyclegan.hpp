// gan/zoo/cyclegan.hpp — CycleGAN (Zhu et al., 2017) as a registered variant of the gan
// layer: the nets and the step of gan/zoo/cyclegan_nets and gan/zoo/cyclegan_step, owned
// by a GanModel (nets G_AB, G_BA, D_A, D_B; optimizers "g" over G_AB + G_BA and "d" over
// D_A + D_B), its image pools and penalty generator kept across --resume, the linear LR
// schedule, a grid of real / translated / reconstructed rows, and `gantry translate`.
//
// Names as the reference: G_AB is its netG_A (A -> B), D_A its netD_A, which judges
// domain B (real B against G_AB(A)); D_B judges domain A.
#pragma once
#include <string>

#include "gan/train/model.hpp"
#include "gan/zoo/cyclegan_step.hpp"

namespace gantry::gan {

// The learning-rate factor at `progress` in [0, 1] of a run of n_epochs + n_epochs_decay
// epochs: 1 for the first n_epochs, then linear to 0 at the end of the last, per step.
// (The reference steps it per epoch and runs its last epoch at 0, which at 1 + 1 epochs
// would train epoch 1 at half rate and epoch 2 not at all; see gan/train/lr_schedule.hpp.)
double cyclegan_lr_factor(double progress, int64_t n_epochs, int64_t n_epochs_decay);

class Cyclegan : public GanModel {
 public:
  Cyclegan(const Hyperparams& h, ModelShape shape, uint64_t seed);
  Losses step(const Batch& b) override;
  std::vector<std::string> loss_names() const override;
  std::string status(const Losses& l) const override;
  Sampling sampling() const override { return Sampling::images; }
  // "a2b": G_AB(x); "b2a": G_BA(x); no gradients; x on any device, the result on the model's.
  Tensor translate(const Tensor& images, const std::string& direction) override;
  // Rows of 8: real A, G_AB(A), G_BA(G_AB(A)), real B, G_BA(B), G_AB(G_BA(B)).
  SampleGrid sample_grid(const Batch& fixed) override;
  std::string generator_net() const override { return "G_AB"; }

  // The two pools' images and the three generators (pools, penalty) for an exact --resume.
  nn::Named save_state() const override;
  std::map<std::string, std::string> save_state_metadata() const override;
  void restore_state(const nn::Named& tensors, const std::map<std::string, std::string>& meta) override;

  CycleganStep& core() { return *step_; }

 private:
  std::unique_ptr<CycleganStep> step_;
};

// `gantry translate`: the images of `input` (an IDX image file, a PNG/JPEG file, or a
// folder of them) translated by the checkpoint's generator in `direction` ("a2b" or
// "b2a") and written to `out`: a .png (one image as itself, several as a grid of 8 a
// row), a .idx / *-ubyte / .idx3 IDX file (one channel), or else a folder (created) with one PNG
// per input named after it. Errors name the flag and the file. Returns the count.
int64_t translate_files(const std::string& checkpoint, const std::string& direction, const std::string& input,
                        const std::string& out);

}  // namespace gantry::gan
