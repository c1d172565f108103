// core/autograd.hpp — define-by-run reverse-mode autograd.
//
// An op whose inputs require grad (while grad mode is on) records a Node: the
// op's name, one edge per input (the node that made that input, or a leaf's
// accumulator), and its derivative rule. A rule maps the gradient of the op's
// output to one gradient per input, and is written in differentiable ops, so with
// create_graph the backward pass is itself recorded: higher-order gradients of
// every op come for free.
//
// Rules capture the op's *inputs* (never its output, which would make a cycle
// output -> node -> output), and recompute what they need from them.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace gantry {

// One gradient per input; an undefined Tensor means "no gradient flows here".
using Grads = std::vector<Tensor>;
using DerivativeRule = std::function<Grads(const Tensor& grad_output)>;

class Node {
 public:
  std::string name;                         // the op, for error messages
  std::vector<std::shared_ptr<Node>> next;  // per input: where its gradient goes (may be null)
  std::vector<Shape> input_shapes;          // per input: to check what the rule returns
  DerivativeRule rule;                      // empty for leaf accumulators and released nodes
  bool accumulator = false;                 // a leaf's sink: adds into leaf->grad
  std::weak_ptr<TensorImpl> leaf;           // the leaf, for an accumulator
  bool released = false;                    // the rule (and what it saved) was freed by backward
  // An accumulator's hooks: run by backward() right after this backward pass added its
  // gradient into the leaf's .grad (the leaf's gradient for the pass is then final).
  std::vector<std::function<void(const Tensor& leaf)>> post_accumulate_hooks;
};

// The node a gradient for `t` flows into: its grad_fn, or (for a leaf that
// requires grad) its accumulator; null when t needs no gradient.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// Registers hook(leaf) to run each time backward() has accumulated into leaf.grad (the
// leaf's gradient for that pass is final then: what data-parallel training needs to
// start a gradient all-reduce during backward). grad() never runs it: it leaves .grad
// alone. `leaf` must be a leaf that requires grad. The hooks live as long as the leaf.
void register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor& leaf)> hook);
// Drops every post-accumulate hook of `leaf`.
void clear_post_accumulate_grad_hooks(const Tensor& leaf);

// Grad mode: thread-local switch; when off, ops record nothing.
struct GradMode {
  static bool enabled();
  static void set(bool on);
};
// RAII: grad mode off in a scope (inference, optimizer steps).
struct NoGradGuard {
  NoGradGuard() : prev_(GradMode::enabled()) { GradMode::set(false); }
  ~NoGradGuard() { GradMode::set(prev_); }

 private:
  bool prev_;
};
struct GradModeGuard {
  explicit GradModeGuard(bool on) : prev_(GradMode::enabled()) { GradMode::set(on); }
  ~GradModeGuard() { GradMode::set(prev_); }

 private:
  bool prev_;
};

// Inside a derivative rule: whether the engine uses the gradient the rule returns for
// input i. False when input i needs no gradient (it does not require grad) and, under
// grad(), when no path from input i leads to a tensor whose gradient was asked for (the
// penalty's grad(D(x), x) needs no weight gradients; a G step's grad(loss, G's
// parameters) needs none of D's), as PyTorch's needs_input_grad. A rule may return an
// undefined Tensor for such an input, and skip computing it. Outside a rule: true.
bool needs_input_grad(size_t i);

// Records `out` as made by op `name` from `inputs` with derivative `rule`, if grad
// mode is on and some input requires grad. Returns out. Used by every op.
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, DerivativeRule rule);

// The gradients of sum_i <outputs[i], grad_outputs[i]> with respect to `inputs`.
// grad_outputs may be empty when every output has one element. With create_graph
// the result is differentiable; retain_graph defaults to create_graph. An input
// the outputs do not depend on throws unless allow_unused (then: undefined Tensor).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = {},
                         bool create_graph = false, bool allow_unused = false);

// Accumulates the gradients of the outputs into the .grad of every leaf that requires grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              std::optional<bool> retain_graph = {}, bool create_graph = false);

}  // namespace gantry
