#include "report/report.h"

namespace herd {}  // namespace herd
