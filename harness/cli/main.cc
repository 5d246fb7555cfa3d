// herd's command line. Issue 2 lays the foundation: only `herd version` so
// far; `run`, `validate`, `schema`, `report` and `compare` arrive with the
// harness (see DESIGN.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "herd/version.h"

int main(int argc, char** argv) {
  CLI::App app{"herd: fleets of retrying clients against a faulty service"};
  app.require_subcommand(1);
  auto* version = app.add_subcommand("version", "print herd's version, revision and build date");
  version->callback([] {
    fmt::print("herd {} (revision {}, built {})\n", herd::build::kVersion, herd::build::kRevision,
               herd::build::kDate);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 uses 106/109 etc.; DESIGN.md says bad input is exit 2.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return 0;
}
