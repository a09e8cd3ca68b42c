#pragma once

#include "shared/Errors.h"

#include <QString>
#include <optional>
#include <variant>

// Stream naming rules and routing keys (docs/protocol.md, "Streams").
//   public stream  "promotional"       -> routing key "public.promotional"
//   private stream "order" of user u42 -> routing key "private.u42.order"
//   "system" reaches every connection; "online" is the node's live-count feed.
namespace herald::streams {

enum class Kind { Public, Private, System, Online };

struct StreamRef {
    Kind kind = Kind::Public;
    QString user; // only for Private
    QString name; // empty for System and Online

    QString routingKey() const;
    bool operator==(const StreamRef&) const = default;
};

inline const QString kSystemKey = QStringLiteral("system");
inline const QString kOnlineKey = QStringLiteral("online");

// A stream name is 1-128 of [A-Za-z0-9_:-].
bool isValidName(QStringView name);
// A user id (JWT "sub") is 1-128 printable characters without spaces or glob characters.
bool isValidUserId(QStringView user);

using Resolved = std::variant<StreamRef, Error>;

// What a connected client asked for in "subscribe". `user` is the authenticated user, empty for
// anonymous. Accepts "name", "public.name", "private.name" (own stream), "private.<user>.name"
// (must be the caller), "online" and "system". Another user's private stream is Forbidden.
Resolved resolveForSubscriber(const QString& spec, const QString& user);

// What a producer (HTTP API, heraldctl) publishes to: "name" or "public.name", or
// "private.<user>.name"; or, with `user` set, the private stream "name" of that user.
Resolved resolveForPublisher(const QString& spec, const QString& user = {});

// Parses a full routing key ("public.x", "private.u.x", "system"); nullopt if malformed.
std::optional<StreamRef> parseRoutingKey(const QString& key);

} // namespace herald::streams
