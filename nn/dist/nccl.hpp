// nn/dist/nccl.hpp — all-reduce of float32 buffers on the GPU with NCCL (the real build),
// one NCCL communicator over the ranks of a dist::Communicator.
//
// Bootstrap: rank 0 makes an ncclUniqueId, MPI_Bcast gives it to every rank, each rank
// calls ncclCommInitRank on its GPU (local_rank % device_count). In builds without NCCL
// (GANTRY_CUDA=emu/off) available() is false and the constructor throws: gradients then
// go through MPI on host memory (GradientReducer).
#pragma once
#include <memory>

#include "nn/dist/comm.hpp"

namespace gantry::dist {

class NcclCommunicator {
 public:
  // True when this build links NCCL.
  static bool available();
  // The GPU this rank should use: local_rank % the number of visible GPUs.
  static int device_for(const Communicator& comm);
  // Joins every rank of comm into one NCCL communicator on GPU `device` (collective).
  explicit NcclCommunicator(Communicator& comm, int device);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  // In place on the GPU: t = sum over ranks of t (t contiguous float32 on cuda), on the
  // stream gantry's kernels use; returns after the stream has finished it.
  void all_reduce_sum_(const Tensor& t);
  // In place: t = mean over ranks.
  void all_reduce_mean_(const Tensor& t);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int size_ = 1;
};

}  // namespace gantry::dist
