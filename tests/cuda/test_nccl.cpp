// tests/cuda/test_nccl.cpp — nn/dist's NCCL backend: linked in the real build (this test
// makes test_cuda link it), absent elsewhere. On a GPU, a one-rank NCCL communicator
// (its unique id through the MPI bootstrap path) all-reduces a device tensor in place;
// with one rank the sum is the tensor itself. (Two ranks need two GPUs.)
#include "cuda_test_util.hpp"
#include "nn/dist/nccl.hpp"
#include "test_util.hpp"

using namespace gantry;

TEST_CASE("NCCL all-reduce of a device tensor on one rank") {
  auto& comm = dist::Communicator::world();
#if GANTRY_HAS_NCCL
  CHECK(dist::NcclCommunicator::available());
  if (!gantry::testing::have_cuda_device()) return;
  dist::NcclCommunicator nccl(comm, dist::NcclCommunicator::device_for(comm));
  Tensor t = arange(0.0, 1000.0, 1.0).to(Device::cuda(0));
  nccl.all_reduce_sum_(t);
  CHECK(t.to(Device::cpu()).to_vector<float>()[999] == 999.0f * comm.size());
  nccl.all_reduce_mean_(t);
  CHECK(t.to(Device::cpu()).to_vector<float>()[7] == 7.0f);
#else
  CHECK_FALSE(dist::NcclCommunicator::available());
  CHECK(gantry::testing::error_of([&] { dist::NcclCommunicator c(comm, 0); }).find("no NCCL") != std::string::npos);
#endif
}
