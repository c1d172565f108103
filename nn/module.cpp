// nn/module.cpp — Module (nn/module.hpp): named parameters, buffers and submodules, train/eval, to(Device).
#include "nn/module.hpp"

#include <cmath>

#include "nn/layers.hpp"

namespace gantry::nn {

Tensor Module::forward(const Tensor&) {
  throw Error("Module::forward: this module does not define a one-input forward");
}

Tensor Module::forward_many(const std::vector<Tensor>& inputs) {
  GANTRY_CHECK(inputs.size() == 1, "Module::forward_many: this module takes one input, got ", inputs.size());
  return forward(inputs[0]);
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  GANTRY_CHECK(t.defined() && t.is_leaf(), "register_parameter: '", name, "' must be a defined leaf tensor");
  if (!t.requires_grad()) t.requires_grad_();
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  GANTRY_CHECK(t.defined(), "register_buffer: '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, Named& out, bool params) const {
  for (const auto& [name, t] : params ? params_ : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out, params);
}

Named Module::named_parameters() const {
  Named out;
  collect("", out, true);
  return out;
}

Named Module::named_buffers() const {
  Named out;
  collect("", out, false);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) t.set_grad({});
}

namespace {
// Makes the tensor behind x hold c's data (storage, sizes, strides, offset, dtype) and
// drops its gradient. x keeps its identity, so every handle to it (an optimizer's, a
// user's) sees the new contents.
void replace_contents_(const Tensor& x, const Tensor& c) {
  TensorImpl* impl = x.impl();
  impl->storage = c.impl()->storage;
  impl->sizes = c.shape();
  impl->strides = c.strides();
  impl->offset = c.offset();
  impl->dtype = c.dtype();
  impl->grad = nullptr;
}
}  // namespace

void Module::to(DType t) {
  // Swap each tensor's contents for a converted copy, keeping the handle (and so
  // every reference an optimizer or a user holds) valid.
  GANTRY_CHECK(is_floating(t), "Module::to: modules convert to a floating dtype, not ", dtype_name(t));
  auto convert = [t](const Tensor& x) {
    if (x.dtype() == t || !is_floating(x.dtype())) return;  // integer buffers (counters) keep their type
    replace_contents_(x, x.detach().to(t));
  };
  for (auto& [name, x] : params_) convert(x);
  for (auto& [name, x] : buffers_) convert(x);
  for (auto& [name, child] : children_) child->to(t);
}

void move_to_device_(const Tensor& x, Device d) {
  if (x.defined() && x.device() != d) replace_contents_(x, x.detach().to(d));
}

void Module::to(Device d) {
#if !GANTRY_HAS_CUDA
  GANTRY_CHECK(d.is_cpu(), "Module::to: this gantry was built with GANTRY_CUDA=off, so there is no ", d.str(),
               " device");
#endif
  for (auto& [name, x] : params_) move_to_device_(x, d);
  for (auto& [name, x] : buffers_) move_to_device_(x, d);
  for (auto& [name, child] : children_) child->to(d);
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers) {
  for (auto& l : layers) add(std::move(l));
}

Sequential& Sequential::add(std::shared_ptr<Module> layer) {
  register_module(std::to_string(children().size()), std::move(layer));
  return *this;
}

namespace {
// The slope of a ReLU (0) or of a LeakyReLU with a finite slope >= 0; -1 for any other module.
double activation_slope(const Module& m) {
  if (dynamic_cast<const ReLU*>(&m)) return 0.0;
  if (auto* l = dynamic_cast<const LeakyReLU*>(&m); l && l->slope >= 0 && std::isfinite(l->slope)) return l->slope;
  return -1.0;
}
}  // namespace

// A layer that FusesActivation (Conv2d, BatchNorm, LayerNorm) followed by a ReLU / LeakyReLU
// runs as one fused op (forward_act: one pass less over the activation); the rest layer by layer.
Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  const auto& layers = children();
  for (size_t i = 0; i < layers.size(); ++i) {
    Module* m = layers[i].second.get();
    auto* fuses = dynamic_cast<FusesActivation*>(m);
    const double slope = fuses && i + 1 < layers.size() ? activation_slope(*layers[i + 1].second) : -1.0;
    if (slope >= 0) {
      h = fuses->forward_act(h, slope);
      ++i;
    } else {
      h = m->forward(h);
    }
  }
  return h;
}

}  // namespace gantry::nn
