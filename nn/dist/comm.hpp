// nn/dist/comm.hpp — the processes of one data-parallel run: rank, size, and the
// collectives training needs (broadcast, all-reduce, barrier, agreement checks) on
// float32 tensors, through MPI (OpenMPI) on host memory.
//
// A program launched by `mpirun -np N` sees N ranks; launched alone it is one rank
// and no collective communicates (today's single-process behaviour, bit for bit).
// Tensors on the cuda device are staged through host memory here (the emu build does
// that for everything); nn/dist/nccl.hpp reduces device buffers on GPUs instead.
//
// Failures: every wait is bounded (GANTRY_DIST_TIMEOUT seconds, default 300); a wait
// that runs out, or an exception escaping dist::run (see below), prints
// "gantry: rank R: <error>" and aborts every rank (MPI_Abort). mpirun itself ends the
// others when a rank dies, naming it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace gantry::dist {

// One nonblocking all-reduce in flight (an MPI request); wait() returns when done.
class Request {
 public:
  Request();
  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  ~Request();
  bool active() const { return impl_ != nullptr; }
  // Blocks until the reduction is complete (bounded by the timeout). Returns the seconds waited.
  double wait();
  // True once complete (does not block).
  bool test();

 private:
  friend class Communicator;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Communicator {
 public:
  // The run's processes: initializes MPI on first use when launched by mpirun (or
  // another MPI launcher), else a one-rank world that never calls MPI.
  static Communicator& world();
  // A one-rank communicator that never calls MPI, even inside an MPI launch (a reference
  // run beside a distributed one, in tests).
  static Communicator& single();

  int rank() const { return rank_; }
  int size() const { return size_; }
  // This process's index among the ranks on its machine (for picking a GPU).
  int local_rank() const { return local_rank_; }
  bool is_main() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }

  // Every rank waits for every other.
  void barrier();
  // Overwrites t on every rank with rank `root`'s t (any dtype, in place; t contiguous or not).
  void broadcast_(const Tensor& t, int root = 0);
  // In place: t = sum over ranks of t (float32 or float64).
  void all_reduce_sum_(const Tensor& t);
  // In place: t = mean over ranks of t.
  void all_reduce_mean_(const Tensor& t);
  // Starts t = sum over ranks of t on a contiguous cpu float32 tensor; t must stay alive
  // and untouched until the request completes. Collectives start in the same order on
  // every rank (MPI's rule); gradient buckets use their own communicator (grad_stream=true),
  // so they may be in flight while other collectives run.
  Request iall_reduce_sum_(const Tensor& t, bool grad_stream = false);
  // Overwrites `bytes` at p on every rank with rank `root`'s (NCCL's unique id, say).
  void broadcast_bytes(void* p, size_t bytes, int root = 0);
  // Sum over ranks of one number (losses for the log, counts).
  double all_reduce_sum(double v);

  // Checks that every rank passed the same `value` (say, "key=value" lines): throws
  // gantry::Error on every rank naming `what`, the first rank that differs from rank 0,
  // and the first differing line on each, e.g.
  //   "flags differ across ranks: rank 1 has 'width=16' where rank 0 has 'width=32'".
  void check_same(const std::string& what, const std::string& value);

  // Prints "gantry: rank R: message" and ends every rank with `code`. Never returns.
  [[noreturn]] void abort(const std::string& message, int code = 1);

  // Seconds a wait may take before the run is aborted (GANTRY_DIST_TIMEOUT, default 300).
  double timeout_s() const { return timeout_s_; }
  void set_timeout_s(double s) { timeout_s_ = s; }

  ~Communicator();

 private:
  Communicator();
  struct OneRank {};
  explicit Communicator(OneRank);
  bool is_world_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_s_ = 300;
  bool owns_mpi_ = false;
  friend class Request;
};

// Runs fn (a program's main body) so that an exception on any rank ends every rank with
// "gantry: rank R: <what>" instead of leaving the others blocked in a collective.
// Returns fn's result (0 = success).
int run(const std::function<int()>& fn);

// Differentiable all-reduce: y = sum over ranks of x. Its derivative rule is the same
// all-reduce of the incoming gradient (every rank's loss depends on every rank's x),
// so sync batch norm's statistics are exact in forward and backward. On one rank, y = x.
Tensor all_reduce_sum(const Tensor& x, Communicator& comm = Communicator::world());

}  // namespace gantry::dist
