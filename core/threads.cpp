// core/threads.cpp — set_num_threads / num_threads over OpenMP (core/threads.hpp).
#include "core/threads.hpp"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>

#include "core/error.hpp"

namespace gantry {

void set_num_threads(int n) {
  GANTRY_CHECK(n >= 1, "set_num_threads: the thread count must be 1 or more (got ", n, ")");
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

std::optional<std::pair<std::string, std::string>> openmp_spin_override(const char* wait_policy,
                                                                        const char* spin_count) {
  if (wait_policy || spin_count) return std::nullopt;
  return std::make_pair(std::string("GOMP_SPINCOUNT"), std::string(kOpenmpSpinCount));
}

void bound_openmp_spinning(char** argv) {
  const auto set = openmp_spin_override(std::getenv("OMP_WAIT_POLICY"), std::getenv("GOMP_SPINCOUNT"));
  if (!set || !argv || !argv[0]) return;
  if (setenv(set->first.c_str(), set->second.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv(set->first.c_str());  // execv failed: run on as we are
}

}  // namespace gantry
