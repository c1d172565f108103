// core/cuda_device_off.cpp — the cuda device of a GANTRY_CUDA=off build: there is none
// (CMakeLists.txt builds this instead of core/cuda_device.cpp); Storage refuses cuda before
// reaching the allocator, so only these two are needed.
#include "core/cuda_device.hpp"
#include "core/error.hpp"

namespace gantry::cuda_device {
bool available() { return false; }
void copy(void*, Device to, const void*, Device from, size_t) {
  throw Error(detail::concat("copy from ", from.str(), " to ", to.str(),
                             ": this gantry was built with GANTRY_CUDA=off, so there is no cuda device"));
}
}  // namespace gantry::cuda_device
