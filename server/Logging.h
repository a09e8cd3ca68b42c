#pragma once

#include <QString>

namespace herald {
// Sets the message pattern and the filter rules for `level` (debug, info, warning, error).
void installLogging(const QString& level);
} // namespace herald
