// nn/optim.hpp — SGD (momentum, Nesterov), Adam, RMSProp, and a linear-decay
// learning-rate schedule. Each step is one fused kernel per parameter
// (kernels/cpu/optim.hpp); state tensors are allocated with the optimizer, so a
// checkpoint can save and restore them by name.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "nn/module.hpp"

namespace gantry::nn {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  // Updates every parameter that has a .grad; parameters without one are skipped.
  void step();
  void zero_grad();
  double lr;
  int64_t steps() const { return steps_; }
  // Per-parameter state tensors named "<index>.<slot>" (e.g. "3.exp_avg"), for checkpoints.
  Named state() const;
  // Restores state saved by state(); checks every name and shape.
  void load_state(const Named& state, int64_t steps);
  const std::vector<Tensor>& params() const { return params_; }
  // Moves the state tensors to device d in place (after the parameters have moved).
  void to(Device d);
  // Data-parallel training's seam (nn/dist, gan/train/trainer.cpp): when set, on_zero_grad
  // runs at the end of zero_grad() and before_step at the start of step() (a gradient
  // reducer's prepare() and sync(): the gradients are averaged over the ranks in between).
  std::function<void()> on_zero_grad, before_step;

 protected:
  // Adds a zero state slot per parameter.
  void add_slot(const std::string& name);
  virtual void update(size_t i, const Tensor& p, const Tensor& g) = 0;
  Tensor slot(size_t param, size_t which) const { return slots_[which].second[param]; }
  std::vector<Tensor> params_;
  int64_t steps_ = 0;

 private:
  std::vector<std::pair<std::string, std::vector<Tensor>>> slots_;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, double lr, double momentum = 0, double weight_decay = 0, bool nesterov = false);
  double momentum, weight_decay;
  bool nesterov;

 private:
  void update(size_t i, const Tensor& p, const Tensor& g) override;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
       double weight_decay = 0);
  double beta1, beta2, eps, weight_decay;

 private:
  void update(size_t i, const Tensor& p, const Tensor& g) override;
};

class RMSProp : public Optimizer {
 public:
  RMSProp(std::vector<Tensor> params, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weight_decay = 0,
          double momentum = 0);
  double alpha, eps, weight_decay, momentum;

 private:
  void update(size_t i, const Tensor& p, const Tensor& g) override;
};

// CycleGAN's schedule: lr = base for the first `keep` epochs, then linearly to 0
// over `decay` more: lr(e) = base * (1 - max(0, e - keep) / (decay + 1)).
struct LinearDecayLR {
  Optimizer& opt;
  double base;
  int64_t keep, decay;
  LinearDecayLR(Optimizer& o, int64_t keep, int64_t decay) : opt(o), base(o.lr), keep(keep), decay(decay) {}
  void set_epoch(int64_t epoch);
};

}  // namespace gantry::nn
