#pragma once

#include <QtGlobal>

#include <cmath>
#include <limits>

namespace herald {

// A JSON number as a whole qint64, for counts and timestamps read from the wire: truncated
// toward zero like a cast, but saturated at the ends of qint64 (casting an out-of-range double
// is undefined behaviour, and JSON numbers such as 1e300 are valid), NaN as 0.
inline qint64 saturatingInteger(double value) {
    constexpr double kTwoTo63 = 9223372036854775808.0; // exactly representable, unlike 2^63 - 1
    if (std::isnan(value))
        return 0;
    if (value >= kTwoTo63)
        return std::numeric_limits<qint64>::max();
    if (value < -kTwoTo63)
        return std::numeric_limits<qint64>::min();
    return static_cast<qint64>(value);
}

} // namespace herald
