// kvd: the key-value store under test. See README.md and DESIGN.md.
#include "config.h"
#include "server.h"

int main(int argc, char** argv) {
  kvd::Config config;
  bool exit_now = false;
  int rc = kvd::ParseConfig(argc, argv, &config, &exit_now);
  if (exit_now) return rc;
  return kvd::RunServer(config);
}
