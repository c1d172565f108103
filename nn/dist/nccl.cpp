// nn/dist/nccl.cpp — NCCL on device buffers, its unique id passed by MPI (real build only).
#include "nn/dist/nccl.hpp"

#include "core/error.hpp"
#include "core/ops.hpp"

#if GANTRY_HAS_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace gantry::dist {

#if GANTRY_HAS_NCCL
namespace {
void check_nccl(ncclResult_t r, const char* what) {
  GANTRY_CHECK(r == ncclSuccess, "NCCL ", what, " failed: ", ncclGetErrorString(r));
}
void check_cuda(cudaError_t r, const char* what) {
  GANTRY_CHECK(r == cudaSuccess, "CUDA ", what, " failed: ", cudaGetErrorString(r));
}
}  // namespace

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
};

bool NcclCommunicator::available() { return true; }

int NcclCommunicator::device_for(const Communicator& comm) {
  int n = 0;
  check_cuda(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
  GANTRY_CHECK(n > 0, "NCCL: no GPU visible to rank ", comm.rank());
  return comm.local_rank() % n;
}

NcclCommunicator::NcclCommunicator(Communicator& comm, int device) : impl_(std::make_unique<Impl>()) {
  size_ = comm.size();
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  ncclUniqueId id;
  if (comm.rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  comm.broadcast_bytes(&id, sizeof id, 0);  // MPI_Bcast of the 128-byte id
  check_nccl(ncclCommInitRank(&impl_->comm, comm.size(), id, comm.rank()), "ncclCommInitRank");
}

NcclCommunicator::~NcclCommunicator() {
  if (impl_ && impl_->comm) ncclCommDestroy(impl_->comm);
}

void NcclCommunicator::all_reduce_sum_(const Tensor& t) {
  GANTRY_CHECK(t.device().is_cuda() && t.is_contiguous() && t.dtype() == DType::f32,
               "NcclCommunicator::all_reduce_sum_: needs a contiguous float32 cuda tensor, got ", shape_str(t.shape()),
               " on ", t.device().str());
  cudaStream_t stream = nullptr;  // the legacy default stream: the one gantry's kernels run on
  check_nccl(ncclAllReduce(t.raw_data(), t.raw_data(), (size_t)t.numel(), ncclFloat, ncclSum, impl_->comm, stream),
             "ncclAllReduce");
  check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

#else

struct NcclCommunicator::Impl {};
bool NcclCommunicator::available() { return false; }
int NcclCommunicator::device_for(const Communicator& comm) { return comm.local_rank(); }
NcclCommunicator::NcclCommunicator(Communicator&, int) {
  throw Error("NcclCommunicator: this build has no NCCL (it needs GANTRY_CUDA=real); gradients go through MPI");
}
NcclCommunicator::~NcclCommunicator() = default;
void NcclCommunicator::all_reduce_sum_(const Tensor&) { throw Error("NcclCommunicator: this build has no NCCL"); }

#endif

void NcclCommunicator::all_reduce_mean_(const Tensor& t) {
  all_reduce_sum_(t);
  NoGradGuard off;
  copy_(t, mul(t, 1.0 / size_));
}

}  // namespace gantry::dist
