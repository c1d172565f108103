// gan/train/trainer.cpp — the training loop for every registered variant, the loss log,
// resume, and sampling for `gantry sample` / `gantry eval`.
#include "gan/train/trainer.hpp"

#include "core/threads.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gan/eval/image_grid.hpp"
#include "gan/eval/metrics.hpp"
#include "gan/train/progress.hpp"
#include "nn/dist/comm.hpp"
#include "nn/dist/data_parallel.hpp"
#include "nn/dist/nccl.hpp"
#include "nn/dist/sampler.hpp"

namespace gantry::gan {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kEvalSeed = 0xE7A1;  // the metric's latents, the same every evaluation

Device parse_device(const std::string& name, const dist::Communicator& comm) {
  if (name == "cpu") return Device::cpu();
  GANTRY_CHECK(name == "cuda", "train: --device must be cpu or cuda, got '", name, "'");
#if GANTRY_HAS_CUDA
  // One GPU per rank of a machine (local_rank % device_count); GPU 0 for one process.
  return Device::cuda(comm.distributed() ? dist::NcclCommunicator::device_for(comm) : 0);
#else
  (void)comm;
  throw Error("--device cuda: this gantry was built with GANTRY_CUDA=off, so only the cpu device exists");
#endif
}

// A CSV file written a whole row at a time, flushed per row; every write is checked.
class CsvFile {
 public:
  CsvFile(std::string path, const std::string& header, bool append) : path_(std::move(path)) {
    f_ = std::fopen(path_.c_str(), append ? "a" : "w");
    if (!f_) fail();
    if (!append) row(header);
  }
  ~CsvFile() {
    if (f_) std::fclose(f_);
  }
  CsvFile(const CsvFile&) = delete;
  CsvFile& operator=(const CsvFile&) = delete;
  void row(const std::string& line) {
    const std::string l = line + "\n";
    if (std::fwrite(l.data(), 1, l.size(), f_) != l.size() || std::fflush(f_) != 0) fail();
  }

 private:
  [[noreturn]] void fail() { throw Error(detail::concat("train: cannot write ", path_, ": ", std::strerror(errno))); }
  std::string path_;
  std::FILE* f_ = nullptr;
};

std::string fmt(double v) {  // as the log always printed: ostream's default (%g, 6 digits)
  std::ostringstream s;
  s << v;
  return s.str();
}

// The model to train: fresh from the options, or from --resume (the same variant, shape,
// and no hyperparameter override that differs from the checkpoint's).
LoadedGan start_model(const TrainOptions& o, ModelShape shape) {
  if (o.resume.empty()) return {model_from_options(o, shape), 0, 0};
  LoadedGan loaded = load_gan_checkpoint(o.resume);
  const GanModel& m = *loaded.model;
  GANTRY_CHECK(m.variant() == o.variant, "train: --resume ", o.resume, " is a ", m.variant(), " checkpoint, not ",
               o.variant);
  GANTRY_CHECK(m.shape().image_size == shape.image_size && m.shape().channels == shape.channels, "train: checkpoint ",
               o.resume, " is for ", m.shape().image_size, "x", m.shape().image_size, "x", m.shape().channels,
               " images but the data is ", shape.image_size, "x", shape.image_size, "x", shape.channels);
  const Hyperparams asked = hyper_from_options(o);
  for (auto& [name, text] : o.hyper)
    GANTRY_CHECK(asked.s(name) == m.hyper().s(name), "train: --", asked.spec(name)->flag_name(), " ", text,
                 " differs from the checkpoint's ", m.hyper().s(name), " (", o.resume,
                 "); a resumed run keeps its hyperparameters");
  return loaded;
}

// What must agree across ranks, one "--flag=value" per line: everything that changes the
// math or the data (not --out, --threads, --no-progress, nor the data's path: the data
// itself is compared by its size and shape; a resumed run by its checkpoint's step).
std::string run_signature(const TrainOptions& o, const Hyperparams& h, const DataSource& data, int64_t step) {
  std::ostringstream s;
  s << "variant=" << o.variant << "\n";
  for (const HyperSpec& spec : h.specs()) s << "--" << spec.flag_name() << "=" << h.s(spec.name) << "\n";
  s << "--epochs=" << o.epochs << "\n--batch-size=" << o.batch_size << "\n--limit=" << o.limit
    << "\n--pad32=" << o.pad32 << "\n--classes=";
  for (int c : o.classes) s << c << " ";
  s << "\n--domain-a=";
  for (auto& d : o.domain_a) s << d << ";";
  s << "\n--domain-b=";
  for (auto& d : o.domain_b) s << d << ";";
  s << "\n--image-size=" << o.image_size << "\n--channels=" << o.channels << "\n--device=" << o.device
    << "\n--seed=" << o.seed << "\n--sync-bn=" << o.sync_bn << "\n--eval-every=" << o.eval_every
    << "\n--eval-n=" << o.eval_n << "\ndata=" << data.size() << "+" << data.size_b() << " images "
    << data.shape().image_size << "x" << data.shape().image_size << "x" << data.shape().channels
    << "\n--resume=" << (o.resume.empty() ? std::string("none") : "step " + std::to_string(step)) << "\n";
  return s.str();
}

// The data-parallel state of one train() call: every net the same on every rank, sync
// batch norm when asked, and a GradientReducer per optimizer wired into the optimizer's
// zero_grad() (arms it: the next backward's hooks start buckets) and step() (waits and
// sets the mean gradients). Variants need no code of their own. Undone on destruction.
class DataParallel {
 public:
  DataParallel(GanModel& m, dist::Communicator& comm, bool sync_bn) : m_(m), comm_(comm) {
    m.set_data_parallel(comm.rank(), comm.size());
    if (!comm.distributed()) return;
    for (auto& [name, net] : m.nets().children()) {
      dist::broadcast_module(*net, name, comm);
      if (sync_bn) dist::set_sync_batchnorm(*net, true, comm);
    }
    // Gradients on GPUs: NCCL on device buffers (real build); else through host memory and MPI.
    if (m.device().is_cuda() && dist::NcclCommunicator::available())
      nccl_ = std::make_unique<dist::NcclCommunicator>(comm, m.device().index);
    for (const auto& o : m.optimizers()) {
      reducers_.push_back(std::make_unique<dist::GradientReducer>(o.opt->params(), comm));
      dist::GradientReducer* r = reducers_.back().get();
      if (nccl_) r->use_nccl(nccl_.get());
      o.opt->on_zero_grad = [r] { r->prepare(); };
      o.opt->before_step = [r] { r->sync(); };
    }
  }
  ~DataParallel() {
    for (const auto& o : m_.optimizers()) o.opt->on_zero_grad = nullptr, o.opt->before_step = nullptr;
    if (comm_.distributed())
      for (auto& [name, net] : m_.nets().children()) dist::set_sync_batchnorm(*net, false, comm_);
    m_.set_data_parallel(0, 1);
  }
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // This rank's rows of a global batch (the whole batch on one rank).
  Batch local(const Batch& b) const {
    if (!comm_.distributed()) return b;
    Batch l;
    const int r = comm_.rank(), n = comm_.size();
    if (b.images.defined()) l.images = dist::local_rows(b.images, r, n);
    if (b.labels.defined()) l.labels = dist::local_rows(b.labels, r, n);
    if (b.images_b.defined()) l.images_b = dist::local_rows(b.images_b, r, n);
    return l;
  }
  // The losses' means over ranks (one all-reduce for all of them).
  Losses mean(const Losses& l) const {
    if (!comm_.distributed()) return l;
    std::vector<double> v;
    for (auto& [name, x] : l.items()) v.push_back(x);
    Tensor t = from_vector(v, {(int64_t)v.size()}, DType::f64);
    comm_.all_reduce_sum_(t);
    Losses out;
    const double* p = t.data<double>();
    for (size_t i = 0; i < l.items().size(); ++i) out.set(l.items()[i].first, p[i] / comm_.size());
    return out;
  }

 private:
  GanModel& m_;
  dist::Communicator& comm_;
  std::unique_ptr<dist::NcclCommunicator> nccl_;
  std::vector<std::unique_ptr<dist::GradientReducer>> reducers_;
};

std::string likely_cause(const GanModel& m) {
  std::string s = "the run diverged; likely a learning rate too high";
  if (m.hyper().has("lr")) s += " (--lr " + m.hyper().s("lr") + ": try a smaller one)";
  if (m.hyper().has("gp_lambda")) s += " or too strong a penalty (--gp-lambda " + m.hyper().s("gp_lambda") + ")";
  return s + "; gantry's GAN steps do not clip gradients";
}

}  // namespace

Hyperparams hyper_from_options(const TrainOptions& o) {
  Hyperparams h = find_variant(o.variant).defaults();
  for (auto& [name, text] : o.hyper) {
    const HyperSpec* s = h.spec(name);
    h.set(name, text, s ? "--" + s->flag_name() : "train " + o.variant);
  }
  return h;
}

std::unique_ptr<GanModel> model_from_options(const TrainOptions& o, ModelShape shape) {
  return make_model(o.variant, hyper_from_options(o), shape, o.seed);
}

std::unique_ptr<DataSource> data_from_options(const TrainOptions& o) {
  const Variant& v = find_variant(o.variant);
  DatasetOptions d;
  d.dir = o.data_dir;
  d.pad_to_32 = o.pad32;
  d.limit = o.limit;
  if (v.data == DataKind::images) {
    GANTRY_CHECK(o.data_a.empty() && o.data_b.empty(), "train: --data-a/--data-b are for two-domain variants; ",
                 o.variant, " trains on one (--data)");
    d.classes = o.classes;
    return idx_source(d);
  }
  GANTRY_CHECK(o.data_a.empty() == o.data_b.empty(), "train: give both --data-a and --data-b, or neither");
  if (!o.data_a.empty()) {
    ImageFolderOptions fo;
    fo.size = o.image_size;
    fo.channels = o.channels;
    return folder_domains(o.data_a, o.data_b, fo, o.limit);
  }
  std::vector<int> a, b;
  for (auto& n : o.domain_a) a.push_back(fashion_class(n));
  for (auto& n : o.domain_b) b.push_back(fashion_class(n));
  return class_domains(d, a, b);
}

int64_t truncate_log(const std::string& path, const std::string& header, int64_t step_col, int64_t max_step) {
  if (!fs::exists(path)) return 0;
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  const auto commas = [](const std::string& l) { return std::count(l.begin(), l.end(), ','); };
  std::string kept = header + "\n";
  int64_t rows = 0;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (first) {
      first = false;
      if (line == header) continue;
    }
    if (commas(line) != commas(header)) continue;
    std::stringstream ss(line);
    std::string cell;
    for (int64_t c = 0; c <= step_col; ++c) std::getline(ss, cell, ',');
    char* end = nullptr;
    const long long step = std::strtoll(cell.c_str(), &end, 10);
    if (cell.empty() || *end != '\0' || step > max_step) continue;
    kept += line + "\n";
    ++rows;
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kept;
    out.flush();
    GANTRY_CHECK(out.good(), "train: cannot write ", tmp);
  }
  fs::rename(tmp, path);
  return rows;
}

Samples draw_samples(GanModel& m, int64_t n, uint64_t seed, int64_t class_index, const std::string& checkpoint) {
  GANTRY_CHECK(n > 0, "sample: --n must be positive, got ", n);
  GANTRY_CHECK(m.sampling() != Sampling::images, "sample: checkpoint ", checkpoint, " is a ", m.variant(),
               " model, which translates images instead of sampling from latents (gantry translate)");
  Rng gen(seed);
  const int64_t k = m.num_classes();
  if (m.sampling() == Sampling::latents) {
    GANTRY_CHECK(class_index < 0, "--class ", class_index, ": checkpoint ", checkpoint, " is a ", m.variant(),
                 " model, which is not class-conditional (only cgan takes --class)");
    return {m.sample(m.latents(n, &gen)), (int64_t)std::ceil(std::sqrt((double)n))};
  }
  GANTRY_CHECK(class_index < k, "--class ", class_index, ": checkpoint ", checkpoint, " has classes 0..", k - 1);
  if (class_index >= 0) {
    Tensor labels = from_indices(std::vector<int64_t>(n, class_index), {n}, m.device());
    return {m.sample(m.latents(n, &gen), labels), (int64_t)std::ceil(std::sqrt((double)n))};
  }
  const int64_t cols = (n + k - 1) / k;  // one class per row, the same latents in every row
  Tensor row = m.latents(cols, &gen);
  std::vector<int64_t> y;
  for (int64_t c = 0; c < k; ++c)
    for (int64_t i = 0; i < cols; ++i) y.push_back(c);
  Tensor z = cat(std::vector<Tensor>(k, row), 0);
  return {m.sample(z, from_indices(y, {k * cols}, m.device())), cols};
}

Tensor generate_for_eval(GanModel& m, int64_t n, uint64_t seed, Tensor* labels) {
  GANTRY_CHECK(m.sampling() != Sampling::images, "eval: a ", m.variant(),
               " model translates images; it has no latent samples to judge");
  Rng gen(seed);
  Tensor z = m.latents(n, &gen);
  Tensor y;
  if (m.sampling() == Sampling::latents_and_classes) {
    std::vector<int64_t> ys(n);
    for (int64_t i = 0; i < n; ++i) ys[i] = i % m.num_classes();
    y = from_indices(ys, {n}, m.device());
  }
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += 1000) {
    const int64_t len = std::min<int64_t>(1000, n - start);
    parts.push_back(
        m.sample(z.narrow(0, start, len), y.defined() ? y.narrow(0, start, len) : Tensor()).to(Device::cpu()));
  }
  if (labels) *labels = y.defined() ? y.to(Device::cpu()) : Tensor();
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

namespace {

// The metric on the model's samples after `epoch`, appended to metrics.csv and printed.
struct EpochEvaluation {
  std::unique_ptr<Evaluator> evaluator;
  std::unique_ptr<CsvFile> csv;

  EpochEvaluation(const TrainOptions& o, const GanModel& m, int64_t start_step) {
    if (o.eval_every <= 0) return;
    GANTRY_CHECK(m.sampling() != Sampling::images, "train: --eval-every judges latent samples; ", m.variant(),
                 " translates images (use gantry eval on its checkpoint)");
    GANTRY_CHECK(m.shape().image_size == 28 && m.shape().channels == 1,
                 "train: --eval-every needs 28x28 images (the classifier's size); drop --pad32");
    GANTRY_CHECK(o.eval_n >= 2, "train: --eval-n must be at least 2, got ", o.eval_n);
    evaluator = std::make_unique<Evaluator>(o.classifier, o.data_dir);
    const std::string path = (fs::path(o.out_dir) / "metrics.csv").string();
    const std::string header = "epoch,step,n,fd_classifier,classes_covered,kl_uniform,label_accuracy";
    const bool append = !o.resume.empty() && fs::exists(path);
    if (append) truncate_log(path, header, 1, start_step);
    csv = std::make_unique<CsvFile>(path, header, append);
  }

  void maybe_run(const TrainOptions& o, GanModel& m, int64_t epoch, int64_t step) {
    if (!evaluator || (epoch % o.eval_every != 0 && epoch != o.epochs)) return;
    Tensor labels;
    Tensor images = generate_for_eval(m, o.eval_n, kEvalSeed, &labels);
    EvalResult r = evaluator->evaluate(images, labels.defined() ? &labels : nullptr);
    std::ostringstream row;
    row << epoch << ',' << step << ',' << r.n << ',' << r.fd << ',' << r.histogram.covered << ','
        << r.histogram.kl_uniform << ',';
    if (r.accuracy) row << *r.accuracy;
    csv->row(row.str());
    if (o.progress)
      std::printf("  epoch %lld: FD-classifier %.2f, %lld/10 classes covered, KL to uniform %.4f\n", (long long)epoch,
                  r.fd, (long long)r.histogram.covered, r.histogram.kl_uniform);
    std::fflush(stdout);  // before the next epoch's progress bar (on stderr)
  }
};

}  // namespace

namespace {
// The domains a two-domain run trains on, for the checkpoint (GanModel::data_info).
std::map<std::string, std::string> data_info_of(const TrainOptions& o, const Variant& v) {
  if (v.data != DataKind::two_domains) return {};
  if (!o.data_a.empty()) return {{"folder_a", o.data_a}, {"folder_b", o.data_b}};
  auto classes = [](const std::vector<std::string>& names) {
    std::string s;
    for (auto& n : names) s += (s.empty() ? "" : ",") + std::to_string(fashion_class(n));
    return s;
  };
  return {{"domain_a", classes(o.domain_a)}, {"domain_b", classes(o.domain_b)}};
}
}  // namespace

TrainResult train(const TrainOptions& o) {
  dist::Communicator& comm = o.comm ? *o.comm : dist::Communicator::world();
  const bool main_rank = comm.is_main();
  const Variant& variant = find_variant(o.variant);  // an unknown variant fails before any data is read
  const Hyperparams hyper = hyper_from_options(o);   // and so does a bad hyperparameter
  GANTRY_CHECK(o.epochs >= 0 && o.epochs <= kMaxEpochs, "train: --epochs must be in [0, ", kMaxEpochs, "], got ",
               o.epochs);
  GANTRY_CHECK(o.batch_size > 0, "train: --batch-size must be positive, got ", o.batch_size);
  GANTRY_CHECK(o.batch_size % comm.size() == 0, "train: --batch-size ", o.batch_size, " is the global batch and must ",
               "divide by the ", comm.size(), " processes (equal slices keep the mean gradient exact)");
  const Device device = parse_device(o.device, comm);
  if (o.threads > 0) gantry::set_num_threads(o.threads);

  std::unique_ptr<DataSource> data = data_from_options(o);
  const int64_t n_data = variant.data == DataKind::two_domains ? std::max(data->size(), data->size_b()) : data->size();
  GANTRY_CHECK(n_data >= o.batch_size, "train: the data set has ", n_data, " images, fewer than one batch of ",
               o.batch_size);

  TrainResult r;
  LoadedGan start = start_model(o, data->shape());
  std::unique_ptr<GanModel> model = std::move(start.model);
  model->data_info = data_info_of(o, variant);
  int64_t step = start.step;
  comm.check_same("flags", run_signature(o, hyper, *data, step));
  model->to(device);
  DataParallel dp(*model, comm, o.sync_bn);
  r.start_epoch = start.epoch;
  r.checkpoint = (fs::path(o.out_dir) / "checkpoint.safetensors").string();
  r.log = (fs::path(o.out_dir) / "log.csv").string();
  std::string header = "epoch,step";
  for (auto& c : model->loss_names()) header += "," + c;
  std::unique_ptr<CsvFile> log;  // rank 0 alone writes files
  if (main_rank) {
    fs::create_directories(o.out_dir);
    const bool append = !o.resume.empty() && fs::exists(r.log);
    if (append) truncate_log(r.log, header, 1, step);  // a killed run's rows past the checkpoint go
    log = std::make_unique<CsvFile>(r.log, header, append);
  }

  // The grid's fixed inputs: the first images of each domain (image variants).
  Batch fixed;
  if (model->sampling() == Sampling::images) {
    std::vector<int64_t> ia, ib;
    for (int64_t i = 0; i < std::min<int64_t>(8, data->size()); ++i) ia.push_back(i);
    for (int64_t i = 0; i < std::min<int64_t>(8, data->size_b()); ++i) ib.push_back(i);
    fixed = data->gather(ia, ib).to(device);
  }
  TrainOptions eval_o = o;
  if (!main_rank) eval_o.eval_every = 0;
  EpochEvaluation evaluation(eval_o, *model, step);
  const bool progress = o.progress && main_rank;
  Batches batches(*data, o.batch_size, o.seed, device);  // every rank: the global batches, in one order
  const double total_steps = std::max<double>(1, (double)o.epochs * batches.batches_per_epoch());
  const std::vector<std::string> names = model->loss_names();
  double seconds = 0;
  int64_t images = 0;
  for (int64_t epoch = start.epoch; epoch < o.epochs; ++epoch) {
    batches.start_epoch(epoch);
    model->on_epoch_start(epoch, batches.batches_per_epoch());
    ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs), batches.batches_per_epoch(),
                    o.batch_size);  // global images per step: global img/s
    Batch b;
    int64_t done = 0;
    Losses last;
    while (batches.next(b)) {
      model->set_progress((double)step / total_steps);
      last = dp.mean(model->step(dp.local(b)));
      ++step, ++done;
      std::string row = std::to_string(epoch + 1) + "," + std::to_string(step);
      for (const std::string& name : names) {
        const double v = last[name];
        if (!std::isfinite(v)) {  // the same mean on every rank: every rank stops here
          if (progress) bar.finish(model->status(last));
          throw Error(detail::concat("train: step ", step, " (epoch ", epoch + 1, "): loss '", name, "' is ", v, "; ",
                                     likely_cause(*model), ". Stopped without saving: ",
                                     fs::exists(r.checkpoint) ? "the last good checkpoint " + r.checkpoint + " is kept"
                                                              : std::string("no checkpoint was written yet")));
        }
        row += "," + fmt(v);
      }
      r.losses.push_back(last);
      if (log) log->row(row);
      if (progress) bar.update(done, model->status(last));
    }
    if (progress) bar.finish(model->status(last));
    seconds += bar.seconds();
    images += done * o.batch_size;
    char name[64];
    std::snprintf(name, sizeof name, "samples_epoch_%03lld.png", (long long)(epoch + 1));
    r.samples = (fs::path(o.out_dir) / name).string();
    r.epochs = epoch + 1;
    if (!main_rank) continue;
    SampleGrid grid = model->sample_grid(fixed);
    save_image_grid(r.samples, grid.images.to(Device::cpu()), grid.nrow, 2, 2);
    // Written beside the last one and renamed over it: a failed write keeps the previous.
    const std::string tmp = r.checkpoint + ".tmp";
    save_gan_checkpoint(tmp, *model, step, epoch + 1);
    fs::rename(tmp, r.checkpoint);
    evaluation.maybe_run(o, *model, epoch + 1, step);
  }
  comm.barrier();  // every rank returns once rank 0's files are written
  r.steps = step;
  r.seconds = seconds;
  r.images_per_second = seconds > 0 ? (double)images / seconds : 0;
  return r;
}

}  // namespace gantry::gan
