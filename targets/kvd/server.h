// Server assembles kvd: it owns the store, the log, the service and both
// frontends, runs the I/O threads, and carries out the lifecycle:
//
//   listen -> print the ready line -> replay the log (/readyz 503) -> serve
//   -> SIGTERM/SIGINT -> drain: stop accepting, /readyz 503, finish admitted
//      requests, close idle connections, flush the log -> exit
#pragma once

#include "config.h"

namespace kvd {

// Runs kvd until it is told to stop. Returns the process exit code: 0 after
// a clean drain, 1 when it could not start or the drain timed out.
int RunServer(const Config& config);

}  // namespace kvd
