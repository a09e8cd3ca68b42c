#pragma once

#include "shared/Errors.h"

#include <QHash>
#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <variant>

// The wire protocol v1 as plain value types (docs/protocol.md). Codec.h turns them into JSON
// and back; nothing else in the tree builds or parses protocol JSON by hand.
namespace herald {

// ---- client -> server (WebSocket text frames) ----
struct SubscribeRequest {
    QStringList streams;
    QHash<QString, QString> since; // stream -> last message id seen (resume hint)
    bool operator==(const SubscribeRequest&) const = default;
};
struct UnsubscribeRequest {
    QStringList streams;
    bool operator==(const UnsubscribeRequest&) const = default;
};
struct PingRequest {
    bool operator==(const PingRequest&) const = default;
};
using ClientMessage = std::variant<SubscribeRequest, UnsubscribeRequest, PingRequest>;

// ---- server -> client ----
struct WelcomeEvent {
    QString node;
    QString session;
    QString user; // empty: anonymous (encoded as null)
    int protocol = 1;
    bool operator==(const WelcomeEvent&) const = default;
};
struct SubscribedEvent {
    QStringList streams; // the routing keys now subscribed
    // Streams that keep history: the id of the newest message at the moment of subscribing
    // ("" when there is none yet), to resume from after a reconnect even if nothing arrived.
    QHash<QString, QString> positions;
    // Streams asked for with `since`: true when every later message was replayed.
    QHash<QString, bool> recovered;
    bool operator==(const SubscribedEvent&) const = default;
};
struct UnsubscribedEvent {
    QStringList streams;
    bool operator==(const UnsubscribedEvent&) const = default;
};
struct MessageEvent {
    QString stream; // routing key, e.g. "public.promotional"
    QString id;
    QJsonValue data;
    bool operator==(const MessageEvent&) const = default;
};

enum class Level { Info, Warning, Critical };
QString levelName(Level level);
bool levelFromName(const QString& name, Level* out);

struct SystemNotice {
    QString title;
    QString body;
    Level level = Level::Info;
    bool operator==(const SystemNotice&) const = default;
};
struct SystemEvent {
    QString id;
    SystemNotice notice;
    // A sticky notice (a broadcast with a ttl): when it lapses, in ms since the epoch (encoded
    // as "expires_at"); 0 for a plain broadcast.
    qint64 expiresAtMs = 0;
    bool operator==(const SystemEvent&) const = default;
};
// A sticky notice was withdrawn by an admin: a page that shows it hides it.
struct WithdrawnEvent {
    QString id;
    bool operator==(const WithdrawnEvent&) const = default;
};
struct OnlineEvent {
    qint64 connections = 0;
    qint64 users = 0;
    bool operator==(const OnlineEvent&) const = default;
};
struct ErrorEvent {
    Error error;
    QString stream; // the refused stream, when the error is about one
    bool operator==(const ErrorEvent&) const = default;
};
struct PongEvent {
    bool operator==(const PongEvent&) const = default;
};
using ServerMessage = std::variant<WelcomeEvent, SubscribedEvent, UnsubscribedEvent, MessageEvent,
                                   SystemEvent, OnlineEvent, ErrorEvent, PongEvent, WithdrawnEvent>;

// ---- producers -> HTTP API ----
struct PublishRequest {
    QString stream;  // "name", "public.name" or "private.<user>.name"
    QString user;    // optional: makes `stream` that user's private stream
    QJsonValue data; // any JSON, delivered as is
    bool operator==(const PublishRequest&) const = default;
};
struct BroadcastRequest {
    SystemNotice notice;
    // "ttl": how long the notice stays sticky (every connection opened meanwhile receives it
    // right after its welcome); 0: a plain broadcast.
    qint64 ttlMs = 0;
    bool operator==(const BroadcastRequest&) const = default;
};

// An active sticky notice, as every node keeps it (and the console lists it).
struct StickyNotice {
    QString id;
    SystemNotice notice;
    qint64 expiresAtMs = 0;
    bool operator==(const StickyNotice&) const = default;
};

} // namespace herald
