// tests/dist/fault/fault_worker.cpp — a tiny data-parallel training run that fails on
// purpose, for ctest's fault tests under mpirun (each must end within its timeout with a
// message naming the rank):
//   fault_worker none               5 steps, prints "fault worker: 5 steps done on R ranks"
//   fault_worker kill  RANK STEP    RANK sends itself SIGKILL at STEP
//   fault_worker throw RANK STEP    RANK throws at STEP (dist::run aborts every rank)
//   fault_worker hang  RANK STEP    RANK sleeps 60 s at STEP (the others' waits time out)
//   fault_worker flag  RANK         RANK was given another --lr (caught at start)
//   fault_worker width RANK         RANK built a wider net (caught at start, naming the tensor)
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "nn/dist/data_parallel.hpp"
#include "nn/dist/sampler.hpp"
#include "nn/layers.hpp"
#include "nn/optim.hpp"

using namespace gantry;

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "none";
  const int bad_rank = argc > 2 ? std::atoi(argv[2]) : -1;
  const int bad_step = argc > 3 ? std::atoi(argv[3]) : -1;
  return dist::run([&] {
    auto& comm = dist::Communicator::world();
    const bool me = comm.rank() == bad_rank;
    const double lr = scenario == "flag" && me ? 2e-3 : 1e-3;
    const int64_t width = scenario == "width" && me ? 8 : 4;
    comm.check_same("flags", "lr=" + std::to_string(lr) + "\nsync_bn=1\nbatch=8");

    nn::Sequential net;
    net.add(std::make_shared<nn::Conv2d>(1, width, 3, 2, 1, false));
    net.add(std::make_shared<nn::BatchNorm2d>(width));
    net.add(std::make_shared<nn::LeakyReLU>(0.2));
    net.add(std::make_shared<nn::Flatten>());
    net.add(std::make_shared<nn::Linear>(width * 4 * 4, 1));
    dist::broadcast_module(net, "D", comm);
    dist::set_sync_batchnorm(net, true, comm);
    nn::Adam opt(net.parameters(), lr);
    dist::GradientReducer reducer(net.parameters(), comm, 256);
    Rng data(1);
    Tensor x = dist::local_rows(randn({8, 1, 8, 8}, DType::f32, &data), comm.rank(), comm.size());
    for (int step = 0; step < 5; ++step) {
      if (me && step == bad_step) {
        if (scenario == "kill") std::raise(SIGKILL);
        if (scenario == "throw") throw Error("injected failure at step " + std::to_string(step));
        if (scenario == "hang") std::this_thread::sleep_for(std::chrono::seconds(60));
      }
      opt.zero_grad();
      reducer.prepare();
      mean(net.forward(x)).backward();
      reducer.finish();
      opt.step();
    }
    comm.barrier();
    if (comm.is_main()) std::printf("fault worker: 5 steps done on %d ranks\n", comm.size());
    return 0;
  });
}
