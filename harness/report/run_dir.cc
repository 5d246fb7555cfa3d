#include "report/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace herd {

namespace fs = std::filesystem;

bool RunDir::Create(const fs::path& path, RunDir* out, std::string* error) {
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_empty(path, ec)) {
    *error = fmt::format("{}: already exists and is not empty; choose another --out", path.string());
    return false;
  }
  fs::create_directories(path, ec);
  if (ec) {
    *error = fmt::format("{}: cannot create: {}", path.string(), ec.message());
    return false;
  }
  out->path_ = path;
  return true;
}

bool RunDir::Open(const fs::path& path, RunDir* out, std::string* error) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    *error = fmt::format("{}: {}", path.string(), fs::exists(path, ec) ? "not a directory" : "no such directory");
    return false;
  }
  out->path_ = path;
  return true;
}

fs::path RunDir::DefaultPath(const fs::path& root, const std::string& name) {
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return root / fmt::format("{}-{:%Y%m%dT%H%M%SZ}", name, now);
}

bool RunDir::Write(const std::string& name, std::string_view content, std::string* error) const {
  const fs::path final_path = path_ / name;
  std::error_code ec;
  fs::create_directories(final_path.parent_path(), ec);
  const fs::path tmp = final_path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = fmt::format("{}: {}", tmp.string(), strerror(errno));
    return false;
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      *error = fmt::format("{}: {}", tmp.string(), strerror(errno));
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  fs::rename(tmp, final_path, ec);
  if (ec) {
    *error = fmt::format("{}: {}", final_path.string(), ec.message());
    return false;
  }
  return true;
}

}  // namespace herd
