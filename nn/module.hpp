// nn/module.hpp — Module: a tree of named parameters, buffers and submodules.
//
// Names are stable and dotted like PyTorch's state_dict keys ("main.0.weight"),
// so checkpoints can be read from Python. A Module is held by shared_ptr; its
// parameters are Tensors (handles), so optimizers update them in place.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ops.hpp"

namespace gantry::nn {

using Named = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  // The module's computation on one input; modules with other signatures add their own.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  // The module's computation on several inputs (e.g. images and class labels). The
  // default takes exactly one input and runs forward(x); conditional modules override it.
  virtual Tensor forward_many(const std::vector<Tensor>& inputs);
  template <class... T>
  Tensor operator()(const Tensor& x, const Tensor& y, const T&... rest) {
    return forward_many({x, y, rest...});
  }

  // Calls fn on every module of the tree: each child's subtree first, in registration
  // order, then this module (torch.nn.Module.apply's order), e.g. for initialization.
  void apply(const std::function<void(Module&)>& fn);

  // All parameters / buffers of this module and its children, depth first, dotted names.
  Named named_parameters() const;
  Named named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;
  // The children, in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  // Training vs evaluation (BatchNorm statistics, Dropout), recursively.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Drops every parameter's .grad.
  void zero_grad();
  // Converts every floating parameter and buffer to dtype t in place (the handles stay
  // valid); integer buffers such as num_batches_tracked keep their type, as in PyTorch.
  void to(DType t);
  // Moves every parameter and buffer to device d in place (the handles stay valid, so
  // optimizers built afterwards see the moved tensors; .grad is dropped). Without a cuda
  // device (GANTRY_CUDA=off) moving to cuda throws a clear error.
  void to(Device d);

 protected:
  // Registers a leaf that requires grad; returns the stored handle.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, Named& out, bool params) const;
  Named params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Moves x's contents to device d in place, keeping the handle (a no-op if already there).
void move_to_device_(const Tensor& x, Device d);

// Runs its children in order; names them 0, 1, 2, ... like torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers);
  Sequential& add(std::shared_ptr<Module> layer);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return children().size(); }
};

}  // namespace gantry::nn
