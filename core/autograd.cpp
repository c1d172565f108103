// core/autograd.cpp — the engine: topological order, then walk it backwards.
#include "core/autograd.hpp"
#include "core/profile.hpp"

#include <unordered_map>

#include "core/anomaly.hpp"
#include "core/ops.hpp"

namespace gantry {

namespace {
thread_local bool g_grad_enabled = true;
}
bool GradMode::enabled() { return g_grad_enabled; }
void GradMode::set(bool on) { g_grad_enabled = on; }

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  if (!impl->grad_accumulator) {
    auto acc = std::make_shared<Node>();
    acc->name = "AccumulateGrad";
    acc->accumulator = true;
    acc->leaf = t.impl_ptr();
    impl->grad_accumulator = acc;
  }
  return impl->grad_accumulator;
}

void register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor& leaf)> hook) {
  GANTRY_CHECK(leaf.defined() && leaf.is_leaf() && leaf.requires_grad(),
               "register_post_accumulate_grad_hook: the tensor must be a leaf that requires grad");
  gradient_edge(leaf)->post_accumulate_hooks.push_back(std::move(hook));
}

void clear_post_accumulate_grad_hooks(const Tensor& leaf) {
  if (leaf.defined() && leaf.impl()->grad_accumulator) leaf.impl()->grad_accumulator->post_accumulate_hooks.clear();
}

// ---- anomaly detection (core/anomaly.hpp) ------------------------------------------
namespace {
thread_local bool g_anomaly_checking = false;  // inside a check: its own ops are not checked
thread_local int g_in_rule = 0;                // inside a derivative rule: checked as a whole

struct Flag {
  bool& f;
  bool prev;
  explicit Flag(bool& flag) : f(flag), prev(flag) { f = true; }
  ~Flag() { f = prev; }
};

std::string shapes_of(const std::vector<Tensor>& inputs) {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i)
    s += (i ? ", " : "") + (inputs[i].defined() ? shape_str(inputs[i].shape()) : std::string("(none)"));
  return s;
}

void anomaly_check_forward(const char* name, const Tensor& out, const std::vector<Tensor>& inputs) {
  if (g_anomaly_checking || g_in_rule > 0 || !is_anomaly_enabled()) return;
  Flag checking(g_anomaly_checking);
  const char* kind = non_finite_kind(out);
  if (!kind) return;
  std::string from = "its inputs were finite";
  for (size_t i = 0; i < inputs.size(); ++i)
    if (const char* k = non_finite_kind(inputs[i])) {
      from = detail::concat("input ", i, " already held ", k,
                            " (it came from no checked op: data, a parameter, or an in-place update)");
      break;
    }
  throw Error(detail::concat("anomaly: op '", name, "' (inputs ", shapes_of(inputs), ") produced ", kind,
                             " in its output ", shape_str(out.shape()), " in forward; ", from));
}

void anomaly_check_backward(const Node& node, const Tensor& g, const Grads& grads) {
  if (g_anomaly_checking || !is_anomaly_enabled()) return;
  Flag checking(g_anomaly_checking);
  std::string ins;
  for (size_t i = 0; i < node.input_shapes.size(); ++i) ins += (i ? ", " : "") + shape_str(node.input_shapes[i]);
  for (size_t j = 0; j < grads.size(); ++j)
    if (const char* kind = non_finite_kind(grads[j])) {
      const char* gk = non_finite_kind(g);
      throw Error(detail::concat("anomaly: the backward of op '", node.name, "' (inputs ", ins, ") produced ", kind,
                                 " in its gradient for input ", j, " ", shape_str(grads[j].shape()),
                                 gk ? detail::concat("; the gradient it was given already held ", gk)
                                    : std::string("; the gradient it was given was finite")));
    }
}
}  // namespace

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, DerivativeRule rule) {
  anomaly_check_forward(name, out, inputs);
  if (!GradMode::enabled()) return out;
  bool any = false;
  for (const auto& x : inputs) any = any || (x.defined() && x.requires_grad());
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->rule = std::move(rule);
  for (const auto& x : inputs) {
    node->next.push_back(gradient_edge(x));
    node->input_shapes.push_back(x.defined() ? x.shape() : Shape{});
  }
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

namespace {

// Every node reachable from the roots, with how many reachable edges point at it.
std::unordered_map<Node*, int> count_dependencies(const std::vector<std::shared_ptr<Node>>& roots) {
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack;
  for (auto& r : roots)
    if (r && deps.emplace(r.get(), 0).second) stack.push_back(r.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& nx : n->next) {
      if (!nx) continue;
      auto [it, fresh] = deps.emplace(nx.get(), 0);
      it->second++;
      if (fresh) stack.push_back(nx.get());
    }
  }
  return deps;
}

// With grad(): the nodes that lie on a path to a captured input. Every other node is
// skipped (no rule runs), so e.g. the gradient penalty's grad(D(x), x) does not
// compute D's parameter gradients. All consumers of a needed node are needed too,
// so skipping never strands a needed node's dependency count.
std::unordered_map<Node*, bool> needed_nodes(const std::unordered_map<Node*, int>& deps,
                                             const std::unordered_map<Node*, Tensor>& captures) {
  std::unordered_map<Node*, bool> needed;
  std::vector<std::pair<Node*, size_t>> stack;  // (node, next child to visit)
  for (auto& [root, count] : deps) {
    if (needed.count(root)) continue;
    stack.push_back({root, 0});
    needed[root] = captures.count(root) > 0;
    while (!stack.empty()) {
      auto& [n, child] = stack.back();
      if (child < n->next.size()) {
        Node* c = n->next[child++].get();
        if (!c) continue;
        auto it = needed.find(c);
        if (it == needed.end()) {
          needed[c] = captures.count(c) > 0;
          stack.push_back({c, 0});
        } else if (it->second) {
          needed[n] = true;
        }
        continue;
      }
      const bool mine = needed[n];
      stack.pop_back();
      if (mine && !stack.empty()) needed[stack.back().first] = true;
    }
  }
  return needed;
}

// The running rule's per-input needs (needs_input_grad), null outside a rule.
thread_local const std::vector<bool>* g_needs = nullptr;

void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? add(slot, g) : g; }

// The shared walk of grad() and backward(). If `captures` is non-null, gradients
// reaching those nodes are stored there and leaves are left untouched;
// otherwise accumulators add into their leaf's .grad.
void run_backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
                  bool create_graph, std::unordered_map<Node*, Tensor>* captures) {
  GANTRY_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "backward: got ", grad_outputs.size(),
               " grad_outputs for ", outputs.size(), " outputs");
  std::vector<std::shared_ptr<Node>> roots;
  std::unordered_map<Node*, Tensor> pending;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    GANTRY_CHECK(out.defined() && out.requires_grad(), "backward: output ", i,
                 " does not require grad and has no grad_fn");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      GANTRY_CHECK(out.numel() == 1, "backward: grad can be implicitly created only for one-element outputs; output ",
                   i, " has shape ", shape_str(out.shape()), ", so pass grad_outputs");
      g = ones_like(out);
    }
    GANTRY_CHECK(g.shape() == out.shape(), "backward: grad_output ", i, " has shape ", shape_str(g.shape()),
                 " but the output has shape ", shape_str(out.shape()));
    auto root = gradient_edge(out);
    accumulate(pending[root.get()], g);
    roots.push_back(root);
  }
  auto deps = count_dependencies(roots);
  std::unordered_map<Node*, bool> needed;
  if (captures) needed = needed_nodes(deps, *captures);
  std::vector<std::shared_ptr<Node>> ready;
  for (auto& r : roots)
    if (deps[r.get()] == 0) {
      deps[r.get()] = -1;  // queued once, even if it is the root of several outputs
      ready.push_back(r);
    }

  GradModeGuard mode(create_graph);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    Tensor g = std::move(pending[node.get()]);
    pending.erase(node.get());
    if (captures && captures->count(node.get())) (*captures)[node.get()] = g;
    if (captures && !needed[node.get()]) continue;
    if (node->accumulator) {
      auto leaf = node->leaf.lock();
      if (!captures && leaf && g.defined()) {
        Tensor gl = create_graph ? g : g.detach();
        if (leaf->grad) gl = add(Tensor(leaf->grad), gl);
        Tensor(leaf).set_grad(create_graph ? gl : gl.detach());
        for (auto& hook : node->post_accumulate_hooks) hook(Tensor(leaf));
      }
      continue;
    }
    Grads grads;
    if (g.defined()) {
      GANTRY_CHECK(!node->released, "backward: trying to backward through the graph a second time (op '", node->name,
                   "'): its saved tensors were freed; pass retain_graph=true the first time");
      {
        ++g_in_rule;
        struct Leave {
          ~Leave() { --g_in_rule; }
        } leave;
        // Input j's gradient is used when its edge leads somewhere needed (under grad():
        // on a path to a captured node; under backward(): every edge).
        std::vector<bool> needs(node->next.size());
        for (size_t j = 0; j < needs.size(); ++j) {
          Node* nx = node->next[j].get();
          needs[j] = nx && (!captures || needed[nx]);
        }
        const std::vector<bool>* outer = g_needs;
        g_needs = &needs;
        struct Restore {
          const std::vector<bool>* prev;
          ~Restore() { g_needs = prev; }
        } restore{outer};
        profile::Scope scope(node->name.c_str(), "backward of ");  // its self time: the rule's own glue
        grads = node->rule(g);
      }
      anomaly_check_backward(*node, g, grads);
      GANTRY_CHECK(grads.size() == node->next.size(), "backward: the rule of '", node->name, "' returned ",
                   grads.size(), " gradients for ", node->next.size(), " inputs");
      if (!retain_graph) {
        node->rule = nullptr;
        node->released = true;
      }
    }
    for (size_t j = 0; j < node->next.size(); ++j) {
      Node* nx = node->next[j].get();
      if (!nx) continue;
      if (j < grads.size() && grads[j].defined()) {
        GANTRY_CHECK(grads[j].shape() == node->input_shapes[j], "backward: the rule of '", node->name,
                     "' gave a gradient of shape ", shape_str(grads[j].shape()), " for input ", j, " of shape ",
                     shape_str(node->input_shapes[j]));
        accumulate(pending[nx], grads[j]);
      }
      if (--deps[nx] == 0) ready.push_back(node->next[j]);
    }
  }
}

}  // namespace

bool needs_input_grad(size_t i) { return !g_needs || (i < g_needs->size() && (*g_needs)[i]); }

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
                         bool allow_unused) {
  std::unordered_map<Node*, Tensor> captures;
  std::vector<Node*> targets;
  for (size_t i = 0; i < inputs.size(); ++i) {
    GANTRY_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: input ", i, " does not require grad");
    auto e = gradient_edge(inputs[i]);
    targets.push_back(e.get());
    captures[e.get()] = Tensor();
  }
  run_backward(outputs, grad_outputs, retain_graph.value_or(create_graph), create_graph, &captures);
  std::vector<Tensor> result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor g = captures[targets[i]];
    GANTRY_CHECK(g.defined() || allow_unused, "grad: input ", i,
                 " is not used by the outputs (pass allow_unused=true to get an undefined gradient)");
    result.push_back(g);
  }
  return result;
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              std::optional<bool> retain_graph, bool create_graph) {
  run_backward(outputs, grad_outputs, retain_graph.value_or(create_graph), create_graph, nullptr);
}

}  // namespace gantry
