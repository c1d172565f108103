// nn/dist/comm.cpp — the communicator over MPI (or one rank without it): bounded waits,
// agreement checks, the abort path, and the differentiable all-reduce.
#include "nn/dist/comm.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"

#if GANTRY_HAS_MPI
#include <mpi.h>
#endif

namespace gantry::dist {

namespace {

// Launched by mpirun (OpenMPI), or by a PMI launcher (srun, MPICH's hydra)?
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

#if GANTRY_HAS_MPI

MPI_Comm g_comm = MPI_COMM_NULL;       // collectives in program order
MPI_Comm g_grad_comm = MPI_COMM_NULL;  // gradient buckets, in flight during backward

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(std::string("MPI ") + what + " failed: " + std::string(msg, len));
}

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    default: return MPI_INT64_T;
  }
}
#endif

// The tensor as a contiguous cpu tensor: itself when it already is one, else a copy
// that write_back() puts into place.
Tensor host_view(const Tensor& t) {
  if (t.device().is_cpu() && t.is_contiguous()) return t;
  NoGradGuard off;
  return t.to(Device::cpu()).contiguous();
}
void write_back(const Tensor& t, const Tensor& host) {
  if (host.same(t)) return;
  NoGradGuard off;
  copy_(t, host.to(t.device()));
}

}  // namespace

struct Request::Impl {
#if GANTRY_HAS_MPI
  MPI_Request req = MPI_REQUEST_NULL;
#endif
  std::string what;
  double timeout_s = 300;
  int rank = 0;
};

Request::Request() = default;
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&&) noexcept = default;
Request::~Request() = default;

bool Request::test() {
  if (!impl_) return true;
#if GANTRY_HAS_MPI
  int done = 0;
  check_mpi(MPI_Test(&impl_->req, &done, MPI_STATUS_IGNORE), impl_->what.c_str());
  if (done) impl_.reset();
  return done != 0;
#else
  impl_.reset();
  return true;
#endif
}

double Request::wait() {
  if (!impl_) return 0;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string what = impl_->what;
  const double timeout = impl_->timeout_s;
  for (int spins = 0; !test(); ++spins) {
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (waited > timeout) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.0f", timeout);
      Communicator::world().abort(what + " waited more than " + buf +
                                  " s for the other ranks (one died, hangs, or skipped this collective; "
                                  "GANTRY_DIST_TIMEOUT sets the limit)");
    }
    // Spin briefly (a reduction of a small bucket takes microseconds), then yield the core.
    if (spins > 200) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Communicator& Communicator::world() {
  static Communicator c;
  return c;
}

Communicator& Communicator::single() {
  static Communicator c{OneRank{}};
  return c;
}

Communicator::Communicator(OneRank) {
  if (const char* t = std::getenv("GANTRY_DIST_TIMEOUT")) timeout_s_ = std::atof(t);
}

Communicator::Communicator() {
  is_world_ = true;
  if (const char* t = std::getenv("GANTRY_DIST_TIMEOUT")) timeout_s_ = std::atof(t);
#if GANTRY_HAS_MPI
  if (!launched_by_mpi()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
  MPI_Comm_dup(MPI_COMM_WORLD, &g_grad_comm);
  // Errors come back as codes (thrown as gantry::Error, then dist::run aborts every rank).
  MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(g_grad_comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(g_comm, &rank_);
  MPI_Comm_size(g_comm, &size_);
  MPI_Comm node;
  MPI_Comm_split_type(g_comm, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_free(&node);
#else
  // N copies of a one-rank program would each train alone and overwrite each other's files.
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!n) n = std::getenv("PMI_SIZE");
  GANTRY_CHECK(!launched_by_mpi() || !n || std::atoi(n) <= 1, "launched by an MPI launcher with ", n,
               " processes, but this build has no MPI (configure with -DGANTRY_MPI=ON and libopenmpi-dev)");
#endif
}

Communicator::~Communicator() {
#if GANTRY_HAS_MPI
  if (!is_world_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (g_comm != MPI_COMM_NULL) MPI_Comm_free(&g_comm);
  if (g_grad_comm != MPI_COMM_NULL) MPI_Comm_free(&g_grad_comm);
  if (owns_mpi_) MPI_Finalize();
#endif
}

void Communicator::barrier() {
  if (!distributed()) return;
#if GANTRY_HAS_MPI
  Request r;
  r.impl_ = std::make_unique<Request::Impl>(Request::Impl{MPI_REQUEST_NULL, "barrier", timeout_s_, rank_});
  check_mpi(MPI_Ibarrier(g_comm, &r.impl_->req), "barrier");
  r.wait();
#endif
}

void Communicator::broadcast_bytes(void* p, size_t bytes, int root) {
  if (!distributed()) return;
#if GANTRY_HAS_MPI
  Request r;
  r.impl_ = std::make_unique<Request::Impl>(Request::Impl{MPI_REQUEST_NULL, "broadcast", timeout_s_, rank_});
  check_mpi(MPI_Ibcast(p, (int)bytes, MPI_BYTE, root, g_comm, &r.impl_->req), "broadcast");
  r.wait();
#else
  (void)p, (void)bytes, (void)root;
#endif
}

void Communicator::broadcast_(const Tensor& t, int root) {
  if (!distributed()) return;
  Tensor h = host_view(t);
  broadcast_bytes(h.raw_data(), (size_t)h.numel() * dtype_size(h.dtype()), root);
  write_back(t, h);
}

Request Communicator::iall_reduce_sum_(const Tensor& t, bool grad_stream) {
  GANTRY_CHECK(t.device().is_cpu() && t.is_contiguous() && t.dtype() != DType::i64,
               "iall_reduce_sum_: needs a contiguous cpu float tensor, got ", shape_str(t.shape()));
  Request r;
  if (!distributed()) return r;
#if GANTRY_HAS_MPI
  r.impl_ = std::make_unique<Request::Impl>(
      Request::Impl{MPI_REQUEST_NULL, grad_stream ? "gradient all_reduce" : "all_reduce", timeout_s_, rank_});
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), (int)t.numel(), mpi_type(t.dtype()), MPI_SUM,
                           grad_stream ? g_grad_comm : g_comm, &r.impl_->req),
            "all_reduce");
#else
  (void)grad_stream;
#endif
  return r;
}

void Communicator::all_reduce_sum_(const Tensor& t) {
  if (!distributed()) return;
  Tensor h = host_view(t);
  iall_reduce_sum_(h).wait();
  write_back(t, h);
}

void Communicator::all_reduce_mean_(const Tensor& t) {
  if (!distributed()) return;
  all_reduce_sum_(t);
  NoGradGuard off;
  copy_(t, mul(t, 1.0 / size_));
}

double Communicator::all_reduce_sum(double v) {
  if (!distributed()) return v;
  Tensor t = full({1}, v, DType::f64);
  all_reduce_sum_(t);
  return t.data<double>()[0];
}

void Communicator::check_same(const std::string& what, const std::string& value) {
  if (!distributed()) return;
#if GANTRY_HAS_MPI
  // Every rank's string, gathered everywhere (they are short: flags, shapes).
  std::vector<int> lengths(size_);
  int mine = (int)value.size();
  check_mpi(MPI_Allgather(&mine, 1, MPI_INT, lengths.data(), 1, MPI_INT, g_comm), "check_same");
  std::vector<int> offsets(size_, 0);
  for (int r = 1; r < size_; ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
  std::string all(offsets.back() + lengths.back(), '\0');
  check_mpi(MPI_Allgatherv(value.data(), mine, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, g_comm),
            "check_same");
  auto lines = [](const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find('\n', start);
      if (end == std::string::npos) end = s.size();
      out.push_back(s.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  const std::string ref = all.substr(0, lengths[0]);
  for (int r = 1; r < size_; ++r) {
    const std::string other = all.substr(offsets[r], lengths[r]);
    if (other == ref) continue;
    auto a = lines(ref), b = lines(other);
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    const std::string la = i < a.size() ? "'" + a[i] + "'" : "nothing",
                      lb = i < b.size() ? "'" + b[i] + "'" : "nothing";
    throw Error(what + " differ across ranks: rank " + std::to_string(r) + " has " + lb + " where rank 0 has " + la);
  }
#else
  (void)what, (void)value;
#endif
}

void Communicator::abort(const std::string& message, int code) {
  std::fprintf(stderr, "gantry: rank %d: %s\n", rank_, message.c_str());
  std::fflush(stderr);
#if GANTRY_HAS_MPI
  if (distributed()) MPI_Abort(MPI_COMM_WORLD, code);
#else
  (void)code;
#endif
  throw Error(message);
}

int run(const std::function<int()>& fn) {
  Communicator& comm = Communicator::world();
  try {
    return fn();
  } catch (const std::exception& e) {
    if (comm.distributed()) comm.abort(e.what());
    std::fprintf(stderr, "gantry: %s\n", e.what());
    return 1;
  }
}

Tensor all_reduce_sum(const Tensor& x, Communicator& comm) {
  Tensor y;
  {
    NoGradGuard off;
    y = x.contiguous().clone();
  }
  comm.all_reduce_sum_(y);
  Communicator* c = &comm;
  return record("all_reduce_sum", y, {x}, [c](const Tensor& g) { return Grads{all_reduce_sum(g, *c)}; });
}

}  // namespace gantry::dist
