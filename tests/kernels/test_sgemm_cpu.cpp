// kernels/cpu/sgemm: both kept kernels (Eigen, and the AVX-512 one where the CPU has it)
// against a naive double-accumulated reference, on odd sizes (m, n, k from 1 to 70 with
// primes, k = 1, k across the AVX-512 kernel's 256-long k blocks), all four transposes,
// overwrite and accumulate, leading dimensions wider than the matrices (the gap between
// rows must stay untouched). The AVX-512 kernel is also checked bit for bit against one
// float FMA chain over k in order per element (what makes it batch invariant), and
// sgemm_threaded on 3 threads bit for bit against sgemm.
#include <doctest/doctest.h>

#include "test_util.hpp"
#include <omp.h>

#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/cpu/sgemm.hpp"

using namespace gantry::kernels::cpu;

namespace {

using gantry::testing::check_close;
using gantry::testing::random_values;

constexpr double kFloatTolerance = 1e-5;  // the cpu kernel tests' float tolerance

// One problem: op(A)[m, k] @ op(B)[k, n] into C[m, n] with padded leading dimensions; A's
// values uniform in [-1, 1) / sqrt(k), B's and C's in [-1, 1), so C's values are O(1) for any
// k (as a conv's with a He-initialized weight) and one float tolerance fits every size.
struct Problem {
  bool trans_a, trans_b;
  int64_t m, n, k;
  int64_t lda, ldb, ldc;
  std::vector<float> a, b, c;  // c: the starting C (the accumulate case adds to it)
};

Problem make_problem(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, unsigned seed) {
  Problem p{trans_a, trans_b, m, n, k, 0, 0, 0, {}, {}, {}};
  const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  p.lda = a_cols + 3, p.ldb = b_cols + 5, p.ldc = n + 2;
  p.a = random_values<float>((size_t)(a_rows * p.lda), seed);
  for (float& x : p.a) x = (float)(x / std::sqrt((double)k));  // |C| stays O(1) whatever k
  p.b = random_values<float>((size_t)(b_rows * p.ldb), seed + 1);
  p.c = random_values<float>((size_t)(m * p.ldc), seed + 2);
  return p;
}

float op_a(const Problem& p, int64_t i, int64_t q) { return p.trans_a ? p.a[q * p.lda + i] : p.a[i * p.lda + q]; }
float op_b(const Problem& p, int64_t q, int64_t j) { return p.trans_b ? p.b[j * p.ldb + q] : p.b[q * p.ldb + j]; }

// The m x n result (dense), accumulated in double.
std::vector<double> reference(const Problem& p, bool accumulate) {
  std::vector<double> want((size_t)(p.m * p.n));
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      double acc = accumulate ? p.c[i * p.ldc + j] : 0.0;
      for (int64_t q = 0; q < p.k; ++q) acc += (double)op_a(p, i, q) * op_b(p, q, j);
      want[(size_t)(i * p.n + j)] = acc;
    }
  return want;
}

// Runs `kernel` on p and checks C's m x n values against the reference and the padding
// between rows (columns n .. ldc) against what was there before.
void check_kernel(SgemmKernel kernel, const Problem& p, bool accumulate) {
  std::vector<float> c = p.c;
  if (!accumulate)
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) c[i * p.ldc + j] = NAN;  // an unwritten element shows
  sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.a.data(), p.lda, p.b.data(), p.ldb, c.data(), p.ldc, accumulate, kernel);
  std::vector<float> got((size_t)(p.m * p.n));
  bool padding_kept = true;
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) got[(size_t)(i * p.n + j)] = c[i * p.ldc + j];
    for (int64_t j = p.n; j < p.ldc; ++j) padding_kept = padding_kept && c[i * p.ldc + j] == p.c[i * p.ldc + j];
  }
  INFO("kernel " << (int)kernel << " trans_a " << p.trans_a << " trans_b " << p.trans_b << " m " << p.m << " n " << p.n
                 << " k " << p.k << " accumulate " << accumulate);
  CHECK(padding_kept);
  check_close(got, reference(p, accumulate), kFloatTolerance, "C");
}

// C after the AVX-512 kernel on p (from p.c), padding included.
std::vector<float> avx512_product(const Problem& p, bool accumulate) {
  std::vector<float> c = p.c;
  sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.a.data(), p.lda, p.b.data(), p.ldb, c.data(), p.ldc, accumulate,
        SgemmKernel::kAvx512);
  return c;
}

void check_all_sizes(SgemmKernel kernel) {
  const int64_t ms[] = {1, 13, 14, 15, 29, 70};
  const int64_t ns[] = {1, 16, 17, 31, 33, 64, 67};
  const int64_t ks[] = {1, 2, 17, 70, 257, 600};
  unsigned seed = 1;
  for (int t = 0; t < 4; ++t)
    for (int64_t m : ms)
      for (int64_t n : ns)
        for (int64_t k : ks) {
          const Problem p = make_problem(t & 1, t & 2, m, n, k, seed += 3);
          check_kernel(kernel, p, false);
          check_kernel(kernel, p, true);
        }
}

}  // namespace

TEST_CASE("sgemm (Eigen) matches the double reference on odd sizes, all transposes, overwrite and accumulate") {
  check_all_sizes(SgemmKernel::kEigen);
}

TEST_CASE("sgemm (AVX-512) matches the double reference on odd sizes, all transposes, overwrite and accumulate") {
  if (!sgemm_avx512_supported()) {
    MESSAGE("this CPU has no AVX-512F/FMA: the AVX-512 kernel is not run");
    return;
  }
  check_all_sizes(SgemmKernel::kAvx512);
}

TEST_CASE("sgemm past the AVX-512 kernel's column block (n > 2048) and row block (m > 168)") {
  for (SgemmKernel kernel : {SgemmKernel::kEigen, SgemmKernel::kAvx512}) {
    if (kernel == SgemmKernel::kAvx512 && !sgemm_avx512_supported()) continue;
    for (int t = 0; t < 4; ++t) {
      check_kernel(kernel, make_problem(t & 1, t & 2, 3, 2100, 19, 300 + t), false);
      check_kernel(kernel, make_problem(t & 1, t & 2, 171, 5, 23, 310 + t), true);
    }
  }
}

TEST_CASE("sgemm with k = 0 writes zeros, or leaves C when accumulating") {
  for (SgemmKernel kernel : {SgemmKernel::kEigen, SgemmKernel::kAvx512}) {
    if (kernel == SgemmKernel::kAvx512 && !sgemm_avx512_supported()) continue;
    std::vector<float> c = {1, 2, 3, 4, 5, 6}, a(1), b(1);
    sgemm(false, false, 2, 3, 0, a.data(), 1, b.data(), 3, c.data(), 3, true, kernel);
    CHECK(c == std::vector<float>{1, 2, 3, 4, 5, 6});
    sgemm(false, false, 2, 3, 0, a.data(), 1, b.data(), 3, c.data(), 3, false, kernel);
    CHECK(c == std::vector<float>(6, 0.0f));
  }
}

TEST_CASE("sgemm (AVX-512) computes each element as one float FMA chain over k in order: batch invariant") {
  if (!sgemm_avx512_supported()) {
    MESSAGE("this CPU has no AVX-512F/FMA: the AVX-512 kernel is not run");
    return;
  }
  CHECK(sgemm_batch_invariant(SgemmKernel::kAvx512));
  for (int t = 0; t < 4; ++t)
    for (bool accumulate : {false, true}) {
      // m and n past one cache block (kMC = 168 rows, kNC = 2048 columns would be too big
      // for a test; k = 700 crosses two k blocks), odd everywhere.
      const Problem p = make_problem(t & 1, t & 2, 181, 75, 700, 100 + t);
      const std::vector<float> whole = avx512_product(p, accumulate);
      int mismatches = 0;
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t j = 0; j < p.n; ++j) {
          float acc = accumulate ? p.c[i * p.ldc + j] : 0.0f;
          for (int64_t q = 0; q < p.k; ++q) acc = std::fma(op_a(p, i, q), op_b(p, q, j), acc);
          mismatches += whole[i * p.ldc + j] != acc;
        }
      INFO("trans_a " << (t & 1) << " trans_b " << (t & 2) << " accumulate " << accumulate);
      CHECK(mismatches == 0);
      // A sub-block (rows 5..5+9, columns 3..3+20) computed alone gives the same bits.
      const int64_t i0 = 5, j0 = 3, rows = 9, cols = 20;
      std::vector<float> part = p.c;
      const float* a0 = p.a.data() + (p.trans_a ? i0 : i0 * p.lda);
      const float* b0 = p.b.data() + (p.trans_b ? j0 * p.ldb : j0);
      sgemm(p.trans_a, p.trans_b, rows, cols, p.k, a0, p.lda, b0, p.ldb, part.data() + i0 * p.ldc + j0, p.ldc,
            accumulate, SgemmKernel::kAvx512);
      int differ = 0;
      for (int64_t i = i0; i < i0 + rows; ++i)
        for (int64_t j = j0; j < j0 + cols; ++j) differ += part[i * p.ldc + j] != whole[i * p.ldc + j];
      CHECK(differ == 0);
    }
}

TEST_CASE("sgemm (AVX-512) with one row, one column or k = 1 (its unpacked paths) gives the full product's bits") {
  if (!sgemm_avx512_supported()) {
    MESSAGE("this CPU has no AVX-512F/FMA: the AVX-512 kernel is not run");
    return;
  }
  for (int t = 0; t < 4; ++t)
    for (bool accumulate : {false, true}) {
      // k = 700: past two k blocks of the nest and not a multiple of 16 (the transposes' tail).
      const Problem p = make_problem(t & 1, t & 2, 37, 45, 700, 300 + t);
      const std::vector<float> whole = avx512_product(p, accumulate);
      int differ = 0;
      for (int64_t i : {0, 17, 36}) {  // row i alone: m = 1
        std::vector<float> row = p.c;
        sgemm(p.trans_a, p.trans_b, 1, p.n, p.k, p.a.data() + (p.trans_a ? i : i * p.lda), p.lda, p.b.data(), p.ldb,
              row.data() + i * p.ldc, p.ldc, accumulate, SgemmKernel::kAvx512);
        for (int64_t j = 0; j < p.n; ++j) differ += row[i * p.ldc + j] != whole[i * p.ldc + j];
      }
      for (int64_t j : {0, 16, 44}) {  // column j alone: n = 1
        std::vector<float> col = p.c;
        sgemm(p.trans_a, p.trans_b, p.m, 1, p.k, p.a.data(), p.lda, p.b.data() + (p.trans_b ? j * p.ldb : j), p.ldb,
              col.data() + j, p.ldc, accumulate, SgemmKernel::kAvx512);
        for (int64_t i = 0; i < p.m; ++i) {
          differ += col[i * p.ldc + j] != whole[i * p.ldc + j];
          for (int64_t q = 0; q < p.n; ++q)  // and nothing beside the column written
            differ += q != j && col[i * p.ldc + q] != p.c[i * p.ldc + q];
        }
      }
      // k = 1 (the outer product): each element one FMA from C or 0.
      const Problem q = make_problem(t & 1, t & 2, 37, 45, 1, 400 + t);
      std::vector<float> outer = q.c;
      sgemm(q.trans_a, q.trans_b, q.m, q.n, 1, q.a.data(), q.lda, q.b.data(), q.ldb, outer.data(), q.ldc, accumulate,
            SgemmKernel::kAvx512);
      for (int64_t i = 0; i < q.m; ++i)
        for (int64_t j = 0; j < q.n; ++j)
          differ +=
              outer[i * q.ldc + j] != std::fma(op_a(q, i, 0), op_b(q, 0, j), accumulate ? q.c[i * q.ldc + j] : 0.0f);
      INFO("trans_a " << (t & 1) << " trans_b " << (t & 2) << " accumulate " << accumulate);
      CHECK(differ == 0);
    }
}

TEST_CASE("sgemm_threaded splits rows or columns among threads and gives sgemm's bits (AVX-512)") {
  if (!sgemm_avx512_supported()) {
    MESSAGE("this CPU has no AVX-512F/FMA: the AVX-512 kernel is not run");
    return;
  }
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(3);
  // More columns than rows (split by columns, 7 parts of 32 over 3 threads) and more rows
  // than columns (split by rows), both over kSgemmThreadedFlops.
  for (const auto& mn : {std::pair<int64_t, int64_t>{37, 211}, {211, 37}})
    for (int t = 0; t < 4; ++t) {
      const int64_t m = mn.first, n = mn.second;  // not a structured binding: INFO captures them (clang-14)
      const Problem p = make_problem(t & 1, t & 2, m, n, 300, 200 + t);
      REQUIRE(2.0 * m * n * p.k >= kSgemmThreadedFlops);
      std::vector<float> serial = p.c, threaded = p.c;
      sgemm(p.trans_a, p.trans_b, m, n, p.k, p.a.data(), p.lda, p.b.data(), p.ldb, serial.data(), p.ldc, true,
            SgemmKernel::kAvx512);
      sgemm_threaded(p.trans_a, p.trans_b, m, n, p.k, p.a.data(), p.lda, p.b.data(), p.ldb, threaded.data(), p.ldc,
                     true, SgemmKernel::kAvx512);
      INFO("m " << m << " n " << n << " trans_a " << (t & 1) << " trans_b " << (t & 2));
      CHECK(std::memcmp(serial.data(), threaded.data(), serial.size() * sizeof(float)) == 0);
    }
  // Thin products (one row, one column, k = 1) are threaded from kSgemmThreadedThinFloats.
  for (const auto& mnk : {std::array<int64_t, 3>{1, 70000, 3}, {70000, 1, 3}, {300, 400, 1}})
    for (int t = 0; t < 4; ++t) {
      const int64_t m = mnk[0], n = mnk[1], k = mnk[2];
      const Problem p = make_problem(t & 1, t & 2, m, n, k, 210 + t);
      REQUIRE((double)m * k + (double)k * n + (double)m * n >= kSgemmThreadedThinFloats);
      std::vector<float> serial = p.c, threaded = p.c;
      sgemm(p.trans_a, p.trans_b, m, n, k, p.a.data(), p.lda, p.b.data(), p.ldb, serial.data(), p.ldc, false,
            SgemmKernel::kAvx512);
      sgemm_threaded(p.trans_a, p.trans_b, m, n, k, p.a.data(), p.lda, p.b.data(), p.ldb, threaded.data(), p.ldc, false,
                     SgemmKernel::kAvx512);
      INFO("m " << m << " n " << n << " k " << k << " trans_a " << (t & 1) << " trans_b " << (t & 2));
      CHECK(std::memcmp(serial.data(), threaded.data(), serial.size() * sizeof(float)) == 0);
    }
  omp_set_num_threads(threads_before);
}
