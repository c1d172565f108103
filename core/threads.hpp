// core/threads.hpp — the one place gantry sets how many CPU threads its kernels use
// (OpenMP's team size, which Eigen's GEMM also follows), like torch.set_num_threads.
#pragma once
#include <optional>
#include <string>
#include <utility>

namespace gantry {

// Uses n > 0 threads from now on in every CPU kernel; throws naming n when n < 1.
void set_num_threads(int n);
// The number of threads a CPU kernel uses now (omp_get_max_threads()).
int num_threads();

// The GNU OpenMP spin count gantry's programs run with when the user sets neither
// OMP_WAIT_POLICY nor GOMP_SPINCOUNT. libgomp's default spins up to 300000 pause loops
// (milliseconds) at every barrier before sleeping, so with another process on one of the
// cores a 2-thread step ran 3.5x slower than alone; passive (no spin) made the step 35%
// slower alone. bench/run_contention.sh, DCGAN step, 2 threads, alone / beside `yes`:
// default 72 / 256-279 ms, passive 97-105 / 147-150, GOMP_SPINCOUNT=10000 75 / 169.
inline constexpr const char* kOpenmpSpinCount = "10000";

// The environment variable bound_openmp_spinning sets, given the values of OMP_WAIT_POLICY
// and GOMP_SPINCOUNT (nullptr when unset): {"GOMP_SPINCOUNT", kOpenmpSpinCount} when both
// are unset, else nothing (the user's choice stands).
std::optional<std::pair<std::string, std::string>> openmp_spin_override(const char* wait_policy,
                                                                        const char* spin_count);

// Called first in a program's main: where openmp_spin_override asks for it, sets the variable
// and re-executes the program (/proc/self/exe, same argv: libgomp reads its variables when
// it loads, before main); the new process then returns from here at once. Returns when no
// override is due, or when the re-execution fails (the program then runs with libgomp's
// default).
void bound_openmp_spinning(char** argv);

}  // namespace gantry
