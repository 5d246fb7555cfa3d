#include "report/run_data.h"

namespace herd {}  // namespace herd
