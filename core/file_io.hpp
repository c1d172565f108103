// core/file_io.hpp — checked, atomic file writes: every byte checked, fsynced, renamed
// into place, errors naming the file.
//
// AtomicFile writes "<path>.tmp.<pid>" and, on commit(), flushes, fsyncs, closes and
// renames it over `path` (then fsyncs the directory, best effort). Any failure — open,
// a short write (a full disk), fsync, close, rename — throws gantry::Error naming `path`
// and the system's reason, removes the temp file and leaves any previous `path` as it
// was. Destroyed without commit() (an exception on the way), it removes the temp file.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace gantry {

class AtomicFile {
 public:
  // Opens the temp file beside `path`; `what` names the file's kind in errors ("checkpoint").
  explicit AtomicFile(std::string path, std::string what = "file");
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  // Appends n bytes; throws on a short write.
  void write(const void* data, size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Makes the file durable and renames it over the target. Throws on failure.
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  [[noreturn]] void fail(const std::string& step, int err);
  std::string path_, what_, tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

// Writes `bytes` to `path` with AtomicFile: all of it or (on error, which throws naming
// the file) nothing, and any previous file intact.
void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& what = "file");

// Test hook (fault injection): after `bytes` more bytes, every AtomicFile write on this
// thread fails as with a full disk (ENOSPC); a negative value turns it off (the default).
void inject_write_failure_after(int64_t bytes);

}  // namespace gantry
