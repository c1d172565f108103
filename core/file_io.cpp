// core/file_io.cpp — AtomicFile: temp file, checked writes, fsync, rename (core/file_io.hpp).
#include "core/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace gantry {

namespace {

thread_local int64_t g_fail_after = -1;  // inject_write_failure_after

// fsync the directory holding `path`, so the rename itself survives a power cut. Best
// effort: some filesystems refuse fsync on a directory, and the data is on disk already.
void sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void inject_write_failure_after(int64_t bytes) { g_fail_after = bytes; }

AtomicFile::AtomicFile(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  f_ = std::fopen(tmp_.c_str(), "wb");
  // Nothing to remove: whatever is at tmp_ is not ours.
  if (!f_)
    throw Error(detail::concat(what_, " ", path_, ": cannot write ", tmp_, " (", std::strerror(errno),
                               "); any previous ", path_, " is untouched"));
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::fail(const std::string& step, int err) {
  if (f_) std::fclose(f_);
  f_ = nullptr;
  std::remove(tmp_.c_str());
  throw Error(detail::concat(what_, " ", path_, ": cannot ", step, " (", std::strerror(err ? err : EIO),
                             "); any previous ", path_, " is untouched"));
}

void AtomicFile::write(const void* data, size_t n) {
  GANTRY_CHECK(f_ && !committed_, what_, " ", path_, ": write after commit or failure");
  if (n == 0) return;
  size_t allowed = n;
  if (g_fail_after >= 0) {
    allowed = std::min<size_t>(n, (size_t)g_fail_after);
    g_fail_after -= (int64_t)allowed;
  }
  errno = 0;
  const size_t wrote = std::fwrite(data, 1, allowed, f_);
  if (wrote != n) fail("write " + tmp_, wrote != allowed ? errno : ENOSPC);
}

void AtomicFile::commit() {
  GANTRY_CHECK(f_ && !committed_, what_, " ", path_, ": commit twice or after a failure");
  errno = 0;
  if (std::fflush(f_) != 0) fail("write " + tmp_, errno);
  if (::fsync(fileno(f_)) != 0) fail("fsync " + tmp_, errno);
  const int closed = std::fclose(f_);
  f_ = nullptr;
  if (closed != 0) fail("close " + tmp_, errno);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("rename " + tmp_ + " over it", errno);
  committed_ = true;
  sync_parent_dir(path_);
}

void write_file_atomic(const std::string& path, std::string_view bytes, const std::string& what) {
  AtomicFile f(path, what);
  f.write(bytes);
  f.commit();
}

}  // namespace gantry
