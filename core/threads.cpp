// core/threads.cpp — set_num_threads / num_threads over OpenMP (core/threads.hpp).
#include "core/threads.hpp"

#include <omp.h>

#include "core/error.hpp"

namespace gantry {

void set_num_threads(int n) {
  GANTRY_CHECK(n >= 1, "set_num_threads: the thread count must be 1 or more (got ", n, ")");
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace gantry
