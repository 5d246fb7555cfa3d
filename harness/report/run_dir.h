// RunDir is the output contract of DESIGN.md: a directory per run, every
// file written under a temporary name and renamed into place, so a reader
// (or a crash) never sees half a file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace herd {

class RunDir {
 public:
  // Creates `path` (and parents). False with *error when it cannot, or when
  // it exists and is not empty (runs never overwrite each other).
  static bool Create(const std::filesystem::path& path, RunDir* out, std::string* error);
  // An existing run directory, to rewrite some of its files (herd report).
  // False with *error when `path` is not a directory.
  static bool Open(const std::filesystem::path& path, RunDir* out, std::string* error);
  // reports/<name>-<UTC yyyymmddThhmmssZ>
  static std::filesystem::path DefaultPath(const std::filesystem::path& root, const std::string& name);

  const std::filesystem::path& path() const { return path_; }
  // Writes `name` (which may contain a subdirectory) atomically.
  bool Write(const std::string& name, std::string_view content, std::string* error) const;

 private:
  std::filesystem::path path_;
};

}  // namespace herd
