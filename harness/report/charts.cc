#include "report/charts.h"

namespace herd {}  // namespace herd
