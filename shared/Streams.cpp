#include "shared/Streams.h"

#include "shared/Limits.h"

namespace herald::streams {
namespace {

const QString kPublicPrefix = QStringLiteral("public.");
const QString kPrivatePrefix = QStringLiteral("private.");

bool isNameChar(QChar c) {
    const char16_t u = c.unicode();
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
           u == ':' || u == '-';
}

bool isUserChar(QChar c) {
    const char16_t u = c.unicode();
    // Printable ASCII except space and the characters Redis PSUBSCRIBE treats as glob syntax.
    return u > 0x20 && u < 0x7f && u != '*' && u != '?' && u != '[' && u != ']' && u != '\\';
}

Error badStream(const QString& spec) {
    return {ErrorCode::BadStream,
            QStringLiteral("invalid stream \"%1\": a stream name is 1-%2 of [A-Za-z0-9_:-]")
                .arg(spec.left(160))
                .arg(kMaxStreamNameLength)};
}

Resolved publicStream(const QString& spec, const QString& name) {
    if (!isValidName(name))
        return badStream(spec);
    return StreamRef{Kind::Public, {}, name};
}

// "private.<rest>": either "<name>" or "<user>.<name>"; the name never contains a dot.
std::optional<StreamRef> splitPrivate(const QString& rest, const QString& defaultUser) {
    const qsizetype dot = rest.lastIndexOf(QLatin1Char('.'));
    if (dot < 0) {
        if (defaultUser.isEmpty() || !isValidName(rest))
            return std::nullopt;
        return StreamRef{Kind::Private, defaultUser, rest};
    }
    StreamRef ref{Kind::Private, rest.left(dot), rest.mid(dot + 1)};
    if (!isValidUserId(ref.user) || !isValidName(ref.name))
        return std::nullopt;
    return ref;
}

} // namespace

QString StreamRef::routingKey() const {
    switch (kind) {
    case Kind::Public:
        return kPublicPrefix + name;
    case Kind::Private:
        return kPrivatePrefix + user + QLatin1Char('.') + name;
    case Kind::System:
        return kSystemKey;
    case Kind::Online:
        return kOnlineKey;
    }
    return {};
}

bool isValidName(QStringView name) {
    if (name.isEmpty() || name.size() > kMaxStreamNameLength)
        return false;
    for (QChar c : name)
        if (!isNameChar(c))
            return false;
    return true;
}

bool isValidUserId(QStringView user) {
    if (user.isEmpty() || user.size() > kMaxUserIdLength)
        return false;
    for (QChar c : user)
        if (!isUserChar(c))
            return false;
    return true;
}

Resolved resolveForSubscriber(const QString& spec, const QString& user) {
    if (spec == kOnlineKey)
        return StreamRef{Kind::Online, {}, {}};
    if (spec == kSystemKey)
        return StreamRef{Kind::System, {}, {}};
    if (spec.startsWith(kPublicPrefix))
        return publicStream(spec, spec.mid(kPublicPrefix.size()));
    if (spec.startsWith(kPrivatePrefix)) {
        const QString rest = spec.mid(kPrivatePrefix.size());
        if (user.isEmpty())
            return Error{ErrorCode::Forbidden,
                         QStringLiteral("private stream \"%1\" needs an authenticated "
                                        "connection (/private with a token)")
                             .arg(spec.left(160))};
        const auto ref = splitPrivate(rest, user);
        if (!ref)
            return badStream(spec);
        if (ref->user != user)
            return Error{
                ErrorCode::Forbidden,
                QStringLiteral("stream \"%1\" belongs to another user").arg(spec.left(160))};
        return *ref;
    }
    return publicStream(spec, spec);
}

Resolved resolveForPublisher(const QString& spec, const QString& user) {
    if (!user.isEmpty() &&
        (spec.startsWith(kPublicPrefix) || spec.startsWith(kPrivatePrefix) || spec == kSystemKey))
        return Error{ErrorCode::BadRequest,
                     QStringLiteral("\"user\" goes with a bare stream name (\"order\"), not with "
                                    "\"%1\"")
                         .arg(spec.left(160))};
    if (spec == kSystemKey)
        return StreamRef{Kind::System, {}, {}};
    if (spec.startsWith(kPublicPrefix))
        return publicStream(spec, spec.mid(kPublicPrefix.size()));
    if (spec.startsWith(kPrivatePrefix)) {
        const auto ref = splitPrivate(spec.mid(kPrivatePrefix.size()), user);
        if (!ref)
            return badStream(spec);
        return *ref;
    }
    if (!user.isEmpty()) {
        if (!isValidUserId(user))
            return Error{ErrorCode::BadRequest,
                         QStringLiteral("invalid user id \"%1\"").arg(user.left(160))};
        if (!isValidName(spec))
            return badStream(spec);
        return StreamRef{Kind::Private, user, spec};
    }
    return publicStream(spec, spec);
}

std::optional<StreamRef> parseRoutingKey(const QString& key) {
    if (key == kSystemKey)
        return StreamRef{Kind::System, {}, {}};
    if (key.startsWith(kPublicPrefix)) {
        const QString name = key.mid(kPublicPrefix.size());
        if (!isValidName(name))
            return std::nullopt;
        return StreamRef{Kind::Public, {}, name};
    }
    if (key.startsWith(kPrivatePrefix)) {
        const QString rest = key.mid(kPrivatePrefix.size());
        if (!rest.contains(QLatin1Char('.')))
            return std::nullopt;
        return splitPrivate(rest, {});
    }
    return std::nullopt;
}

} // namespace herald::streams
