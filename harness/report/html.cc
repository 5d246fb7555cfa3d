#include "report/html.h"

namespace herd {}  // namespace herd
