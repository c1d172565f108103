// kernels/cpu/embedding: the row gather and its scatter-add against naive loops, with
// repeated and unused indices, dims that span several column blocks, n_idx = 0,
// outputs pre-filled with junk; the backward is the same for 1 and several threads.
#include <doctest/doctest.h>

#include "test_util.hpp"
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/embedding.hpp"

using namespace gantry::kernels::cpu;

namespace {

using gantry::testing::check_close;
using gantry::testing::nans;
using gantry::testing::random_values;

// Indices into [0, num) with repeats; the last row of the table is never used.
std::vector<int64_t> random_indices(size_t n, int64_t num, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(0, num - 2);
  std::vector<int64_t> v(n);
  for (auto& i : v) i = dist(gen);
  return v;
}

}  // namespace

TEST_CASE_TEMPLATE("embedding forward gathers rows, backward scatter-adds, against naive loops", T, float, double) {
  struct Case {
    int64_t n_idx, num, dim;
  };
  for (const Case& c : std::vector<Case>{{1, 3, 5},         // one lookup
                                         {17, 4, 7},        // many repeats, odd dim
                                         {40, 9, 150},      // dim spans 3 column blocks
                                         {300, 50, 129},    // OpenMP path
                                         {5000, 10, 3}}) {  // tiny dim, long index list
    // Plain locals, not a structured binding: doctest's INFO captures them in a lambda,
    // which clang before 16 rejects for bindings (scripts/sanitize.sh builds with clang-14).
    const int64_t n_idx = c.n_idx, num = c.num, dim = c.dim;
    INFO("n_idx " << n_idx << " num " << num << " dim " << dim);
    auto table = random_values<T>((size_t)(num * dim), 1), dy = random_values<T>((size_t)(n_idx * dim), 2);
    const auto idx = random_indices((size_t)n_idx, num, 3);
    std::vector<T> y((size_t)(n_idx * dim), std::numeric_limits<T>::quiet_NaN());
    std::vector<T> dtable((size_t)(num * dim), T(1e30));
    embedding_forward(y.data(), idx.data(), table.data(), n_idx, num, dim);
    embedding_backward(dtable.data(), dy.data(), idx.data(), n_idx, num, dim);
    std::vector<T> dtable_ref((size_t)(num * dim), T(0));  // same summation order: in index order, in T
    bool forward_ok = true;
    for (int64_t i = 0; i < n_idx; ++i)
      for (int64_t d = 0; d < dim; ++d) {
        forward_ok = forward_ok && y[i * dim + d] == table[idx[i] * dim + d];
        dtable_ref[idx[i] * dim + d] += dy[i * dim + d];
      }
    CHECK(forward_ok);
    CHECK(dtable == dtable_ref);
    for (int64_t d = 0; d < dim; ++d) CHECK(dtable[(num - 1) * dim + d] == T(0));  // unused row: zeroed
  }
}

TEST_CASE("embedding backward: a hand-checked repeat, n_idx = 0, and thread-count independence") {
  std::vector<double> dy = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> idx = {2, 0, 2};
  std::vector<double> dt(6, NAN);
  embedding_backward(dt.data(), dy.data(), idx.data(), 3, 3, 2);
  CHECK(dt == std::vector<double>{3, 4, 0, 0, 6, 8});
  embedding_backward(dt.data(), dy.data(), idx.data(), 0, 3, 2);  // nothing looked up: all zeros
  CHECK(dt == std::vector<double>(6, 0.0));

  const int64_t n_idx = 2000, num = 7, dim = 300;
  auto g = random_values<float>((size_t)(n_idx * dim), 5);
  const auto ids = random_indices((size_t)n_idx, num, 6);
  std::vector<float> one((size_t)(num * dim)), many((size_t)(num * dim));
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  embedding_backward(one.data(), g.data(), ids.data(), n_idx, num, dim);
  omp_set_num_threads(4);
  embedding_backward(many.data(), g.data(), ids.data(), n_idx, num, dim);
  omp_set_num_threads(threads);
  CHECK(one == many);  // float sums in index order whatever the threads
}
