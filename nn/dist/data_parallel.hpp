// nn/dist/data_parallel.hpp — data parallelism over the ranks of a Communicator:
// the same replica everywhere at start, gradients averaged in buckets during backward,
// and sync batch norm.
//
// A step on R ranks, each with 1/R of the global batch (equal slices), then
//   grad = (1/R) sum_r grad_r,
// equals one process's gradient of the global batch mean loss, up to float32
// reduction order: the optimizer then takes the same step everywhere.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/dist/comm.hpp"
#include "nn/module.hpp"

namespace gantry::dist {

class NcclCommunicator;

// "name dtype [shape] grad|nograd" per parameter and buffer of m, one per line: what
// must agree across ranks before training starts.
std::string describe(const nn::Module& m);

// Makes every rank hold rank 0's parameters and buffers of m (called once, at start):
// first checks that names, shapes, dtypes and requires_grad agree (throws naming `what`,
// the rank and the first tensor that differs), then broadcasts, then checks that every
// rank's values hash alike. Returns the number of tensors whose values rank 0 changed on
// this rank (0 when every rank had built the same replica from the same seed).
int64_t broadcast_module(nn::Module& m, const std::string& what, Communicator& comm = Communicator::world());

// Makes every BatchNorm in m compute training statistics over all ranks' samples
// (forward and backward) by a differentiable all-reduce; sync=false restores local ones.
// Returns how many layers it set.
int set_sync_batchnorm(nn::Module& m, bool sync = true, Communicator& comm = Communicator::world());

// Averages the gradients of one set of parameters (the ones one optimizer updates)
// across ranks, in buckets of about bucket_bytes, in a fixed order on every rank.
//   Overlapped:  prepare(); loss.backward(); finish();   opt.step();
//     backward's post-accumulate hooks copy a parameter's gradient into its bucket when
//     it is final; a bucket's all-reduce starts when all of its parameters are in and
//     every earlier bucket has started; finish() starts the rest and waits.
//   After grad(): set the .grads, then reduce() (no overlap: grad() runs no hooks).
// A parameter whose hook runs again after its bucket took its gradient (more backward
// passes than prepare() was told) makes finish() reduce every bucket again from the final
// .grads: slower, never wrong. Buckets follow the parameters in reverse order (backward's order, roughly). A parameter
// with no .grad on a rank counts as zero there and has the mean afterwards. Gradients on
// the cuda device go through host memory (MPI); nn/dist/nccl.hpp is the GPU path.
class GradientReducer {
 public:
  GradientReducer(std::vector<Tensor> params, Communicator& comm = Communicator::world(),
                  size_t bucket_bytes = 1 << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Arms the hooks for the next `passes` backward() calls of this step: a parameter is
  // final after its hook ran `passes` times.
  void prepare(int passes = 1);
  // Starts the buckets not started yet, waits for all, sets every .grad to the mean.
  void finish();
  // prepare-less reduction of the current .grads (after grad()).
  void reduce();
  // What to call right before the optimizer's step(): finish() if prepare() armed this
  // step, else reduce(). One call site per optimizer step, whichever way grads were made.
  void sync() { armed_ ? finish() : reduce(); }

  // Times since the last reset_stats(): seconds blocked in finish()/reduce() waiting for
  // reductions (communication not hidden by backward), and seconds from each step's
  // first bucket start to its last completion; buckets per step.
  struct Stats {
    double exposed_wait_s = 0, copy_s = 0;
    int64_t steps = 0, buckets_started_in_backward = 0, buckets_total = 0, stale_steps = 0;
  };
  const Stats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  size_t bucket_count() const { return buckets_.size(); }
  // GPU path (real build): buckets live on the parameters' cuda device and each is
  // reduced by nccl->all_reduce_sum_ (on the default stream, so it is ordered after the
  // kernels that made the gradients), instead of staging through host memory and MPI.
  // nccl must outlive the reducer. Compiles and links; not yet run on a GPU.
  void use_nccl(class NcclCommunicator* nccl);
  int64_t gradient_bytes() const;

 private:
  struct Bucket {
    std::vector<size_t> params;    // indices into params_, in bucket order
    std::vector<int64_t> offsets;  // element offset of each in flat
    Tensor flat;                   // cpu float32
    int filled = 0;                // parameters copied in this step
    bool started = false;
    Request request;
  };
  void on_final(size_t param);
  void copy_in(size_t param);
  void reduce_all_buckets();  // copy in what is left, start every bucket, wait for all
  void start_ready_buckets();
  void write_back();

  std::vector<Tensor> params_;
  Communicator& comm_;
  NcclCommunicator* nccl_ = nullptr;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_, slot_of_;
  std::vector<int> fired_;
  std::vector<bool> copied_;
  int passes_ = 0;
  bool armed_ = false, stale_ = false;
  size_t next_to_start_ = 0;
  Stats stats_;
};

}  // namespace gantry::dist
