// nn/optim.cpp — SGD, Adam, RMSProp (nn/optim.hpp): one fused step per parameter through the backend table.
#include "nn/optim.hpp"

#include <cmath>
#include <map>

#include "core/ops/backend.hpp"

namespace gantry::nn {

Optimizer::Optimizer(std::vector<Tensor> params, double lr) : lr(lr), params_(std::move(params)) {
  GANTRY_CHECK(lr >= 0, "optimizer: learning rate must be non-negative, got ", lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    GANTRY_CHECK(params_[i].defined() && params_[i].is_leaf() && params_[i].is_contiguous() &&
                     is_floating(params_[i].dtype()),
                 "optimizer: parameter ", i, " must be a contiguous floating-point leaf tensor");
    GANTRY_CHECK(params_[i].device().is_cpu() || params_[i].dtype() == DType::f32, "optimizer: parameter ", i, " on ",
                 params_[i].device().str(), " must be float32");
  }
}

void Optimizer::add_slot(const std::string& name) {
  std::vector<Tensor> zs;
  for (auto& p : params_) zs.push_back(zeros_like(p));
  slots_.emplace_back(name, std::move(zs));
}

void Optimizer::to(Device d) {
  for (auto& [name, tensors] : slots_)
    for (auto& t : tensors) move_to_device_(t, d);
}

void Optimizer::step() {
  if (before_step) before_step();
  ++steps_;
  NoGradGuard off;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    GANTRY_CHECK(g.shape() == params_[i].shape() && g.dtype() == params_[i].dtype(), "optimizer: parameter ", i, " ",
                 shape_str(params_[i].shape()), " has a gradient of shape ", shape_str(g.shape()));
    update(i, params_[i], contiguous(g));
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.set_grad({});
  if (on_zero_grad) on_zero_grad();
}

Named Optimizer::state() const {
  Named out;
  for (const auto& [name, ts] : slots_)
    for (size_t i = 0; i < ts.size(); ++i) out.emplace_back(std::to_string(i) + "." + name, ts[i]);
  return out;
}

void Optimizer::load_state(const Named& state, int64_t steps) {
  Named mine = this->state();
  std::map<std::string, Tensor> saved(state.begin(), state.end());
  GANTRY_CHECK(saved.size() == mine.size(), "optimizer: saved state has ", saved.size(), " tensors, expected ",
               mine.size());
  for (const auto& [name, t] : mine) {  // check everything before writing anything
    auto it = saved.find(name);
    GANTRY_CHECK(it != saved.end(), "optimizer: saved state has no '", name, "'");
    GANTRY_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(), "optimizer: saved state '", name,
                 "' ", shape_str(it->second.shape()), " does not match the parameter's ", shape_str(t.shape()));
  }
  NoGradGuard off;
  for (const auto& [name, t] : mine) copy_(t, saved.at(name));
  steps_ = steps;
}

SGD::SGD(std::vector<Tensor> params, double lr, double momentum, double weight_decay, bool nesterov)
    : Optimizer(std::move(params), lr), momentum(momentum), weight_decay(weight_decay), nesterov(nesterov) {
  GANTRY_CHECK(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0");
  add_slot("momentum_buffer");
}

void SGD::update(size_t i, const Tensor& p, const Tensor& g) {
  kernels::SGDStep h{lr, momentum, weight_decay, nesterov, steps_ == 1};
  detail::backend(p.device()).sgd_step(p, slot(i, 0), g, h);
}

Adam::Adam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay)
    : Optimizer(std::move(params), lr), beta1(beta1), beta2(beta2), eps(eps), weight_decay(weight_decay) {
  GANTRY_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam: betas must be in [0, 1), got (", beta1, ", ",
               beta2, ")");
  add_slot("exp_avg");
  add_slot("exp_avg_sq");
}

void Adam::update(size_t i, const Tensor& p, const Tensor& g) {
  kernels::AdamStep
      h{lr, beta1, beta2, eps, weight_decay, 1 - std::pow(beta1, (double)steps_), 1 - std::pow(beta2, (double)steps_)};
  detail::backend(p.device()).adam_step(p, slot(i, 0), slot(i, 1), g, h);
}

RMSProp::RMSProp(std::vector<Tensor> params, double lr, double alpha, double eps, double weight_decay, double momentum)
    : Optimizer(std::move(params), lr), alpha(alpha), eps(eps), weight_decay(weight_decay), momentum(momentum) {
  add_slot("square_avg");
  add_slot("momentum_buffer");
}

void RMSProp::update(size_t i, const Tensor& p, const Tensor& g) {
  kernels::RMSPropStep h{lr, alpha, eps, weight_decay, momentum};
  detail::backend(p.device()).rmsprop_step(p, slot(i, 0), slot(i, 1), g, h);
}

void LinearDecayLR::set_epoch(int64_t epoch) {
  const double frac = (double)std::max<int64_t>(0, epoch - keep) / (double)(decay + 1);
  opt.lr = base * std::max(0.0, 1.0 - frac);
}

}  // namespace gantry::nn
