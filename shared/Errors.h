#pragma once

#include <QList>
#include <QString>

namespace herald {

// Every error a client or API caller can see. The wire names are stable protocol.
enum class ErrorCode {
    BadJson,      // frame or body is not valid JSON
    BadRequest,   // valid JSON but not a valid request (missing or mistyped field)
    UnknownEvent, // "event" names nothing we know
    BadStream,    // stream name breaks the naming rules
    Forbidden,    // not allowed for this identity (e.g. another user's private stream)
    TooLarge,     // message over the size limit
    TooManySubscriptions,
    Unauthorized, // missing, malformed, bad-signature or expired credential
    NotFound,
    Unavailable, // node cannot do it now (full, draining, broker down)
    RateLimited, // too many connections or failed attempts from one address
    Internal,
};

struct Error {
    ErrorCode code = ErrorCode::BadRequest;
    QString message;
    bool operator==(const Error&) const = default;
};

QString errorCodeName(ErrorCode code);
// Inverse of errorCodeName; false when the name is unknown.
bool errorCodeFromName(const QString& name, ErrorCode* out);
// All codes, for tests and metrics labels.
const QList<ErrorCode>& allErrorCodes();

} // namespace herald
