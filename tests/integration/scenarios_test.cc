// Every scenario under scenarios/ (recursively) stays valid: `herd validate`
// exits 0 on each. The scenarios are documentation users run as they are
// (the experiments of issue 5, the book's figures, one per fault kind), so a
// change to the scenario format that breaks one shows up here, naming the
// file and herd's message, rather than in a user's terminal.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"

namespace herd::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<fs::path> ScenarioFiles() {
  std::vector<fs::path> files;
  const fs::path root = SourceDir() / "scenarios";
  if (!fs::is_directory(root)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Scenarios, ThereAreSome) {
  const auto files = ScenarioFiles();
  EXPECT_GE(files.size(), 10u) << "only " << files.size() << " scenarios found under " << (SourceDir() / "scenarios");
}

TEST(Scenarios, EachOneValidates) {
  const auto files = ScenarioFiles();
  TempDir dir("herd-scenarios");
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    ProcessOptions o;
    o.argv = {HerdBinary(), "validate", file.string()};
    o.stderr_path = dir.path() / "validate.stderr";
    Process p;
    std::string error;
    ASSERT_TRUE(p.Start(o, &error)) << error;
    auto code = p.WaitExit(std::chrono::duration_cast<Millis>(30s));
    if (!code) code = p.Kill();
    EXPECT_EQ(code.value_or(-1), 0) << "herd validate " << file.string() << ":\n" << p.StderrText();
  }
}

}  // namespace
}  // namespace herd::test
