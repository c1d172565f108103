// kernels/cpu/reduce: sum_columns (the sum over leading dims, down the columns in place)
// against sum_rows over the transpose, bit for bit, on shapes that leave a partial block of
// 512 columns, one row, one column and zero rows; float and double; at 1 and 3 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/reduce.hpp"

using namespace gantry::kernels::cpu;

TEST_CASE_TEMPLATE("sum_columns gives sum_rows' bits over the transpose, at any thread count", T, float, double) {
  const int saved = omp_get_max_threads();
  std::mt19937 gen(5);
  std::uniform_real_distribution<double> u(-3, 3);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 3136}, {3, 600}, {1, 7}, {9, 1}, {0, 5}, {200, 1025}}) {
    std::vector<T> in((size_t)(rows * cols)), transposed(in.size());
    for (auto& v : in) v = (T)u(gen);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) transposed[(size_t)(c * rows + r)] = in[(size_t)(r * cols + c)];
    std::vector<T> want((size_t)cols);
    sum_rows(want.data(), transposed.data(), cols, rows);
    for (int threads : {1, 3}) {
      omp_set_num_threads(threads);
      std::vector<T> got((size_t)cols, (T)NAN);
      sum_columns(got.data(), in.data(), rows, cols);
      INFO("rows ", rows, " cols ", cols, " threads ", threads);
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0);
    }
  }
  omp_set_num_threads(saved);
}
