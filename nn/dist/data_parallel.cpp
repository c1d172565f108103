// nn/dist/data_parallel.cpp — broadcast and verification of replicas, sync batch norm
// switches, and the bucketed gradient all-reduce driven by backward's hooks.
#include "nn/dist/data_parallel.hpp"

#include <chrono>
#include <cstring>
#include <sstream>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "nn/dist/nccl.hpp"
#include "nn/layers.hpp"

namespace gantry::dist {

namespace {
double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// FNV-1a of a tensor's bytes (contiguous cpu copy): equal values, equal hash.
uint64_t hash_values(const Tensor& t) {
  Tensor h = t.device().is_cpu() && t.is_contiguous() ? t : t.to(Device::cpu()).contiguous();
  const auto* p = static_cast<const unsigned char*>(h.raw_data());
  uint64_t x = 1469598103934665603ull;
  for (size_t i = 0, n = (size_t)h.numel() * dtype_size(h.dtype()); i < n; ++i) x = (x ^ p[i]) * 1099511628211ull;
  return x;
}

void visit_batchnorms(nn::Module& m, const std::function<void(nn::BatchNorm&)>& f) {
  if (auto* bn = dynamic_cast<nn::BatchNorm*>(&m)) f(*bn);
  for (auto& [name, child] : m.children()) visit_batchnorms(*child, f);
}
}  // namespace

std::string describe(const nn::Module& m) {
  std::ostringstream s;
  for (auto& [name, t] : m.named_parameters())
    s << "parameter " << name << " " << dtype_name(t.dtype()) << " " << shape_str(t.shape()) << " "
      << (t.requires_grad() ? "grad" : "nograd") << "\n";
  for (auto& [name, t] : m.named_buffers())
    s << "buffer " << name << " " << dtype_name(t.dtype()) << " " << shape_str(t.shape()) << "\n";
  return s.str();
}

int64_t broadcast_module(nn::Module& m, const std::string& what, Communicator& comm) {
  if (!comm.distributed()) return 0;
  comm.check_same(what + "'s parameters and buffers", describe(m));
  nn::Named all = m.named_parameters();
  for (auto& nb : m.named_buffers()) all.push_back(nb);
  int64_t changed = 0;
  std::ostringstream hashes;
  {
    NoGradGuard off;
    for (auto& [name, t] : all) {
      const uint64_t before = hash_values(t);
      comm.broadcast_(t, 0);
      const uint64_t after = hash_values(t);
      changed += before != after;
      hashes << name << " " << after << "\n";
    }
  }
  comm.check_same(what + "'s values after the broadcast from rank 0", hashes.str());
  return changed;
}

int set_sync_batchnorm(nn::Module& m, bool sync, Communicator& comm) {
  int n = 0;
  Communicator* c = &comm;
  visit_batchnorms(m, [&](nn::BatchNorm& bn) {
    if (sync) bn.set_sync([c](const Tensor& t) { return all_reduce_sum(t, *c); });
    else bn.set_sync(nullptr);
    ++n;
  });
  return n;
}

// ---- GradientReducer -------------------------------------------------------------

GradientReducer::GradientReducer(std::vector<Tensor> params, Communicator& comm, size_t bucket_bytes)
    : params_(std::move(params)), comm_(comm) {
  const size_t n = params_.size();
  bucket_of_.assign(n, 0);
  slot_of_.assign(n, 0);
  fired_.assign(n, 0);
  copied_.assign(n, false);
  // Reverse order: the last layers' gradients are final first in backward.
  size_t bytes = 0;
  for (size_t k = n; k-- > 0;) {
    const Tensor& p = params_[k];
    GANTRY_CHECK(p.dtype() == DType::f32, "GradientReducer: parameter ", k, " is not float32");
    const size_t pb = (size_t)p.numel() * 4;
    if (buckets_.empty() || (bytes > 0 && bytes + pb > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.params.size();
    b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(k);
    bytes += pb;
  }
  for (auto& b : buckets_) b.flat = zeros({b.offsets.back() + params_[b.params.back()].numel()});
  if (!comm_.distributed()) return;
  for (size_t k = 0; k < n; ++k)
    register_post_accumulate_grad_hook(params_[k], [this, k](const Tensor&) {
      if (armed_) on_final(k);
    });
}

GradientReducer::~GradientReducer() {
  if (comm_.distributed())
    for (auto& p : params_) clear_post_accumulate_grad_hooks(p);
}

int64_t GradientReducer::gradient_bytes() const {
  int64_t b = 0;
  for (auto& p : params_) b += p.numel() * 4;
  return b;
}

void GradientReducer::use_nccl(NcclCommunicator* nccl) {
  nccl_ = nccl;
  const Device d = nccl && !params_.empty() ? params_[0].device() : Device::cpu();
  GANTRY_CHECK(!nccl || d.is_cuda(), "GradientReducer::use_nccl: the parameters are on ", d.str(), ", not cuda");
  for (auto& b : buckets_) b.flat = zeros(b.flat.shape(), DType::f32, d);
}

void GradientReducer::prepare(int passes) {
  GANTRY_CHECK(passes >= 1, "GradientReducer::prepare: passes must be >= 1, got ", passes);
  passes_ = passes;
  armed_ = comm_.distributed();
  stale_ = false;
  next_to_start_ = 0;
  std::fill(fired_.begin(), fired_.end(), 0);
  std::fill(copied_.begin(), copied_.end(), false);
  for (auto& b : buckets_) b.filled = 0, b.started = false;
}

void GradientReducer::copy_in(size_t k) {
  if (copied_[k]) return;
  const double t0 = now_s();
  Bucket& b = buckets_[bucket_of_[k]];
  const int64_t off = b.offsets[slot_of_[k]], n = params_[k].numel();
  Tensor g = params_[k].grad();
  if (nccl_) {  // device to device, no staging
    NoGradGuard off_grad;
    Tensor slot = b.flat.narrow(0, off, n);
    if (g.defined()) copy_(slot, g.reshape({-1}));
    else copy_(slot, zeros({n}, DType::f32, slot.device()));
    copied_[k] = true;
    b.filled++;
    stats_.copy_s += now_s() - t0;
    return;
  }
  float* dst = b.flat.data<float>() + off;
  if (g.defined()) {
    Tensor h = g.device().is_cpu() && g.is_contiguous() ? g : g.to(Device::cpu()).contiguous();
    std::memcpy(dst, h.data<float>(), (size_t)n * 4);
  } else {
    std::memset(dst, 0, (size_t)n * 4);
  }
  copied_[k] = true;
  b.filled++;
  stats_.copy_s += now_s() - t0;
}

void GradientReducer::on_final(size_t k) {
  if (++fired_[k] < passes_) return;
  if (fired_[k] > passes_) {  // its .grad changed after its bucket took it: redo at finish()
    stale_ = true;
    return;
  }
  copy_in(k);
  start_ready_buckets();
  // Give MPI a chance to progress the buckets in flight (it progresses only inside calls).
  for (size_t i = 0; i < next_to_start_; ++i) buckets_[i].request.test();
}

void GradientReducer::start_ready_buckets() {
  // In bucket order only: every rank starts the same all-reduces in the same order.
  while (next_to_start_ < buckets_.size()) {
    Bucket& b = buckets_[next_to_start_];
    if (b.filled < (int)b.params.size()) break;
    if (nccl_) nccl_->all_reduce_sum_(b.flat);  // queued on the stream, then synchronized
    else b.request = comm_.iall_reduce_sum_(b.flat, true);
    b.started = true;
    if (armed_) stats_.buckets_started_in_backward++;
    ++next_to_start_;
  }
}

void GradientReducer::write_back() {
  const double t0 = now_s();
  NoGradGuard off;
  const double scale = 1.0 / comm_.size();
  for (auto& b : buckets_)
    for (size_t s = 0; s < b.params.size(); ++s) {
      const Tensor& p = params_[b.params[s]];
      Tensor g = mul(b.flat.narrow(0, b.offsets[s], p.numel()).reshape(p.shape()), scale);
      p.set_grad(p.device().is_cpu() ? g : g.to(p.device()));
    }
  stats_.copy_s += now_s() - t0;
}

// Copies every gradient not yet in its bucket, starts the buckets not yet started and
// waits for all of them, counting the wait and the step.
void GradientReducer::reduce_all_buckets() {
  for (size_t k = 0; k < params_.size(); ++k) copy_in(k);
  start_ready_buckets();
  const double t0 = now_s();
  for (auto& b : buckets_) b.request.wait();
  stats_.exposed_wait_s += now_s() - t0;
  stats_.buckets_total += (int64_t)buckets_.size();
  stats_.steps++;
}

void GradientReducer::finish() {
  if (!comm_.distributed()) return;
  GANTRY_CHECK(armed_, "GradientReducer::finish: call prepare() before backward()");
  armed_ = false;
  reduce_all_buckets();
  // Every rank runs the same passes, so every rank is stale alike and reduces again alike.
  if (stale_) {
    stats_.stale_steps++;
    reduce();
    return;
  }
  write_back();
}

void GradientReducer::reduce() {
  if (!comm_.distributed()) return;
  prepare(1);
  armed_ = false;
  reduce_all_buckets();
  write_back();
}

}  // namespace gantry::dist
