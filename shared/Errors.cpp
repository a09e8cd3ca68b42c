#include "shared/Errors.h"

#include <array>
#include <utility>

namespace herald {
namespace {
// One table for both directions, so the names cannot drift apart.
constexpr std::array<std::pair<ErrorCode, const char*>, 12> kNames{{
    {ErrorCode::BadJson, "bad_json"},
    {ErrorCode::BadRequest, "bad_request"},
    {ErrorCode::UnknownEvent, "unknown_event"},
    {ErrorCode::BadStream, "bad_stream"},
    {ErrorCode::Forbidden, "forbidden"},
    {ErrorCode::TooLarge, "too_large"},
    {ErrorCode::TooManySubscriptions, "too_many_subscriptions"},
    {ErrorCode::Unauthorized, "unauthorized"},
    {ErrorCode::NotFound, "not_found"},
    {ErrorCode::Unavailable, "unavailable"},
    {ErrorCode::RateLimited, "rate_limited"},
    {ErrorCode::Internal, "internal"},
}};
} // namespace

QString errorCodeName(ErrorCode code) {
    for (const auto& [c, name] : kNames)
        if (c == code)
            return QString::fromLatin1(name);
    return QStringLiteral("internal");
}

bool errorCodeFromName(const QString& name, ErrorCode* out) {
    for (const auto& [c, n] : kNames) {
        if (name == QLatin1String(n)) {
            *out = c;
            return true;
        }
    }
    return false;
}

const QList<ErrorCode>& allErrorCodes() {
    static const QList<ErrorCode> codes = [] {
        QList<ErrorCode> list;
        for (const auto& entry : kNames)
            list.append(entry.first);
        return list;
    }();
    return codes;
}

} // namespace herald
