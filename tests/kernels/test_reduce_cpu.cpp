// kernels/cpu/reduce: sum_rows and sum_columns (the sum over leading dims, down the columns
// in place) against a long-double sum of the same values, on shapes that leave a remainder
// of the 8 lanes and a partial block of 512 columns, one row, one column and zero rows;
// float and double; the same bits at 1 and 3 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/reduce.hpp"

using namespace gantry::kernels::cpu;

TEST_CASE_TEMPLATE("sum_rows and sum_columns match a long-double sum, the same bits at any thread count", T, float,
                   double) {
  const int saved = omp_get_max_threads();
  std::mt19937 gen(5);
  std::uniform_real_distribution<double> u(-3, 3);
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-14;
  for (auto shape :
       {std::pair<int64_t, int64_t>{64, 3136}, {3, 600}, {1, 7}, {9, 1}, {0, 5}, {200, 1025}, {1, 70001}}) {
    const int64_t rows = shape.first, cols = shape.second;  // (clang 14: no structured bindings in INFO)
    std::vector<T> in((size_t)(rows * cols)), transposed(in.size());
    for (auto& v : in) v = (T)u(gen);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) transposed[(size_t)(c * rows + r)] = in[(size_t)(r * cols + c)];
    std::vector<T> first_rows, first_cols;
    for (int threads : {1, 3}) {
      omp_set_num_threads(threads);
      std::vector<T> by_rows((size_t)rows, (T)NAN), by_cols((size_t)cols, (T)NAN);
      sum_rows(by_rows.data(), in.data(), rows, cols);
      sum_columns(by_cols.data(), in.data(), rows, cols);
      INFO("rows ", rows, " cols ", cols, " threads ", threads);
      for (int64_t r = 0; r < rows; ++r) {
        long double want = 0, scale = 0;
        for (int64_t c = 0; c < cols; ++c)
          want += in[(size_t)(r * cols + c)], scale += std::fabs((double)in[(size_t)(r * cols + c)]);
        CHECK(std::fabs((double)(by_rows[(size_t)r] - want)) <= tol * (double)(scale + 1));
      }
      for (int64_t c = 0; c < cols; ++c) {
        long double want = 0, scale = 0;
        for (int64_t r = 0; r < rows; ++r)
          want += transposed[(size_t)(c * rows + r)], scale += std::fabs((double)transposed[(size_t)(c * rows + r)]);
        CHECK(std::fabs((double)(by_cols[(size_t)c] - want)) <= tol * (double)(scale + 1));
      }
      if (threads == 1) {
        first_rows = by_rows, first_cols = by_cols;
      } else {
        CHECK((by_rows.empty() || std::memcmp(first_rows.data(), by_rows.data(), by_rows.size() * sizeof(T)) == 0));
        CHECK((by_cols.empty() || std::memcmp(first_cols.data(), by_cols.data(), by_cols.size() * sizeof(T)) == 0));
      }
    }
  }
  omp_set_num_threads(saved);
}
