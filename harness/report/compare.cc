#include "report/compare.h"

namespace herd {}  // namespace herd
