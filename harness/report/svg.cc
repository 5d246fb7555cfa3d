#include "report/svg.h"

namespace herd {}  // namespace herd
