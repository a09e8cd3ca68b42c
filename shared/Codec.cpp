#include "shared/Codec.h"

#include "shared/JsonNumbers.h"
#include "shared/Limits.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QRegularExpression>

#include <array>
#include <cmath>

namespace herald {

QString levelName(Level level) {
    switch (level) {
    case Level::Info:
        return QStringLiteral("info");
    case Level::Warning:
        return QStringLiteral("warning");
    case Level::Critical:
        return QStringLiteral("critical");
    }
    return QStringLiteral("info");
}

bool levelFromName(const QString& name, Level* out) {
    for (Level l : {Level::Info, Level::Warning, Level::Critical}) {
        if (levelName(l) == name) {
            *out = l;
            return true;
        }
    }
    return false;
}

namespace codec {
namespace {

Error badRequest(const QString& message) {
    return {ErrorCode::BadRequest, message};
}

// Parses a JSON document; anything else is BadJson.
std::variant<QJsonDocument, Error> parseDocument(QByteArrayView json) {
    QJsonParseError parseError;
    QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray::fromRawData(json.data(), json.size()), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error{ErrorCode::BadJson, QStringLiteral("malformed JSON at offset %1: %2")
                                             .arg(parseError.offset)
                                             .arg(parseError.errorString())};
    return doc;
}

// Parses a JSON object; anything else is BadJson (not JSON) or BadRequest (not an object).
std::variant<QJsonObject, Error> parseObject(QByteArrayView json) {
    auto doc = parseDocument(json);
    if (auto* e = std::get_if<Error>(&doc))
        return *e;
    if (!std::get<QJsonDocument>(doc).isObject())
        return badRequest(QStringLiteral("expected a JSON object"));
    return std::get<QJsonDocument>(doc).object();
}

QByteArray toJson(const QJsonObject& object) {
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// Reads a required string field.
std::variant<QString, Error> requireString(const QJsonObject& o, const QString& key) {
    const QJsonValue v = o.value(key);
    if (v.isUndefined())
        return badRequest(QStringLiteral("missing field \"%1\"").arg(key));
    if (!v.isString())
        return badRequest(QStringLiteral("field \"%1\" must be a string").arg(key));
    return v.toString();
}

// Reads an optional string field; an absent or null field is empty.
std::variant<QString, Error> optionalString(const QJsonObject& o, const QString& key) {
    const QJsonValue v = o.value(key);
    if (v.isUndefined() || v.isNull())
        return QString();
    if (!v.isString())
        return badRequest(QStringLiteral("field \"%1\" must be a string").arg(key));
    return v.toString();
}

std::variant<QStringList, Error> requireStreams(const QJsonObject& o) {
    const QJsonValue v = o.value(QLatin1String("streams"));
    if (v.isUndefined())
        return badRequest(QStringLiteral("missing field \"streams\""));
    if (!v.isArray())
        return badRequest(QStringLiteral("field \"streams\" must be an array of strings"));
    const QJsonArray array = v.toArray();
    if (array.isEmpty())
        return badRequest(QStringLiteral("field \"streams\" must not be empty"));
    QStringList streams;
    streams.reserve(array.size());
    for (const QJsonValue& item : array) {
        if (!item.isString())
            return badRequest(QStringLiteral("field \"streams\" must be an array of strings"));
        if (!streams.contains(item.toString()))
            streams.append(item.toString());
    }
    return streams;
}

std::variant<qint64, Error> requireCount(const QJsonObject& o, const QString& key) {
    const QJsonValue v = o.value(key);
    if (!v.isDouble() || v.toDouble() < 0)
        return badRequest(QStringLiteral("field \"%1\" must be a non-negative number").arg(key));
    return saturatingInteger(v.toDouble());
}

std::variant<SystemNotice, Error> readNotice(const QJsonObject& o) {
    SystemNotice notice;
    const auto title = optionalString(o, QStringLiteral("title"));
    if (auto* e = std::get_if<Error>(&title))
        return *e;
    const auto body = optionalString(o, QStringLiteral("body"));
    if (auto* e = std::get_if<Error>(&body))
        return *e;
    notice.title = std::get<QString>(title);
    notice.body = std::get<QString>(body);
    if (notice.title.trimmed().isEmpty() && notice.body.trimmed().isEmpty())
        return badRequest(QStringLiteral("a system message needs a \"title\" or a \"body\""));
    if (notice.title.size() > kMaxTitleLength)
        return badRequest(
            QStringLiteral("\"title\" is longer than %1 characters").arg(kMaxTitleLength));
    if (notice.body.size() > kMaxBodyLength)
        return badRequest(
            QStringLiteral("\"body\" is longer than %1 characters").arg(kMaxBodyLength));
    const auto level = optionalString(o, QStringLiteral("level"));
    if (auto* e = std::get_if<Error>(&level))
        return *e;
    const QString levelText = std::get<QString>(level);
    if (!levelText.isEmpty() && !levelFromName(levelText, &notice.level))
        return badRequest(QStringLiteral("\"level\" must be info, warning or critical, not \"%1\"")
                              .arg(levelText.left(40)));
    return notice;
}

// "ttl" of a broadcast: absent or null is 0 (not sticky); a string "2h", or a number of seconds.
std::variant<qint64, Error> readTtl(const QJsonObject& o) {
    const QJsonValue v = o.value(QLatin1String("ttl"));
    if (v.isUndefined() || v.isNull())
        return qint64(0);
    if (v.isDouble()) {
        const double seconds = v.toDouble();
        if (seconds != std::floor(seconds) || seconds < 1 || seconds * 1000 > kMaxStickyTtlMs)
            return badRequest(QStringLiteral(
                "\"ttl\" in seconds must be a whole number from 1 to 604800 (7 days)"));
        return static_cast<qint64>(seconds) * 1000;
    }
    if (!v.isString())
        return badRequest(QStringLiteral("\"ttl\" must be a duration such as \"2h\""));
    return parseTtl(v.toString());
}

QJsonObject noticeObject(const SystemNotice& n) {
    return {{QStringLiteral("title"), n.title},
            {QStringLiteral("body"), n.body},
            {QStringLiteral("level"), levelName(n.level)}};
}

QJsonArray toArray(const QStringList& list) {
    return QJsonArray::fromStringList(list);
}

QStringList toStringList(const QJsonValue& v) {
    QStringList out;
    for (const QJsonValue& item : v.toArray())
        out.append(item.toString());
    return out;
}

// An object with a string "event": the shape of every WebSocket frame in both directions.
std::variant<std::pair<QJsonObject, QString>, Error> parseEvent(QByteArrayView json) {
    auto parsed = parseObject(json);
    if (auto* e = std::get_if<Error>(&parsed))
        return *e;
    QJsonObject o = std::get<QJsonObject>(std::move(parsed));
    const auto event = requireString(o, QStringLiteral("event"));
    if (auto* e = std::get_if<Error>(&event))
        return *e;
    return std::pair{std::move(o), std::get<QString>(event)};
}

} // namespace

std::variant<qint64, Error> parseTtl(const QString& text) {
    static const QRegularExpression pattern(QStringLiteral("^([0-9]{1,7})([smhd])$"));
    const QRegularExpressionMatch m = pattern.match(text.trimmed());
    const auto bad = [&text] {
        return badRequest(QStringLiteral("\"ttl\" must be a whole number and a unit (s, m, h or "
                                         "d) from 1s to 7d, such as \"90s\", \"15m\" or "
                                         "\"2h\", not \"%1\"")
                              .arg(text.left(40)));
    };
    if (!m.hasMatch())
        return bad();
    const qint64 unitMs = std::array<qint64, 4>{
        1000, 60'000, 3'600'000, 86'400'000}[QStringLiteral("smhd").indexOf(m.captured(2))];
    const qint64 ms = m.captured(1).toLongLong() * unitMs;
    if (ms < 1000 || ms > kMaxStickyTtlMs)
        return bad();
    return ms;
}

QString formatTtl(qint64 ms) {
    const qint64 seconds = ms / 1000;
    constexpr std::array<std::pair<char, qint64>, 3> units{{{'d', 86400}, {'h', 3600}, {'m', 60}}};
    for (const auto& [unit, size] : units)
        if (seconds % size == 0 && seconds >= size)
            return QString::number(seconds / size) + QLatin1Char(unit);
    return QString::number(seconds) + QLatin1Char('s');
}

// ---------------------------------------------------------------- client -> server

Decoded<ClientMessage> decodeClientMessage(QByteArrayView json) {
    auto parsed = parseEvent(json);
    if (auto* e = std::get_if<Error>(&parsed))
        return *e;
    const auto& [o, name] = std::get<std::pair<QJsonObject, QString>>(parsed);

    if (name == QLatin1String("ping"))
        return PingRequest{};
    if (name == QLatin1String("subscribe") || name == QLatin1String("unsubscribe")) {
        auto streams = requireStreams(o);
        if (auto* e = std::get_if<Error>(&streams))
            return *e;
        if (name == QLatin1String("unsubscribe"))
            return UnsubscribeRequest{std::get<QStringList>(streams)};
        SubscribeRequest request{std::get<QStringList>(streams), {}};
        const QJsonValue since = o.value(QLatin1String("since"));
        if (!since.isUndefined() && !since.isNull()) {
            if (!since.isObject())
                return badRequest(
                    QStringLiteral("field \"since\" must be an object of stream to id"));
            const QJsonObject map = since.toObject();
            for (auto it = map.begin(); it != map.end(); ++it) {
                if (!it.value().isString())
                    return badRequest(QStringLiteral("\"since\" ids must be strings"));
                request.since.insert(it.key(), it.value().toString());
            }
        }
        return request;
    }
    return Error{ErrorCode::UnknownEvent,
                 QStringLiteral("unknown event \"%1\" (expected subscribe, unsubscribe or ping)")
                     .arg(name.left(64))};
}

QByteArray encode(const ClientMessage& message) {
    return std::visit(
        [](const auto& m) -> QByteArray {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, PingRequest>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("ping")}});
            } else if constexpr (std::is_same_v<T, UnsubscribeRequest>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("unsubscribe")},
                               {QStringLiteral("streams"), toArray(m.streams)}});
            } else {
                QJsonObject o{{QStringLiteral("event"), QStringLiteral("subscribe")},
                              {QStringLiteral("streams"), toArray(m.streams)}};
                if (!m.since.isEmpty()) {
                    QJsonObject since;
                    for (auto it = m.since.begin(); it != m.since.end(); ++it)
                        since.insert(it.key(), it.value());
                    o.insert(QStringLiteral("since"), since);
                }
                return toJson(o);
            }
        },
        message);
}

// ---------------------------------------------------------------- server -> client

QByteArray encode(const ServerMessage& message) {
    return std::visit(
        [](const auto& m) -> QByteArray {
            using T = std::decay_t<decltype(m)>;
            const auto event = QStringLiteral("event");
            if constexpr (std::is_same_v<T, WelcomeEvent>) {
                return toJson(
                    {{event, QStringLiteral("welcome")},
                     {QStringLiteral("node"), m.node},
                     {QStringLiteral("session"), m.session},
                     {QStringLiteral("user"),
                      m.user.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(m.user)},
                     {QStringLiteral("protocol"), m.protocol}});
            } else if constexpr (std::is_same_v<T, SubscribedEvent>) {
                QJsonObject o{{event, QStringLiteral("subscribed")},
                              {QStringLiteral("streams"), toArray(m.streams)}};
                if (!m.positions.isEmpty()) {
                    QJsonObject positions;
                    for (auto it = m.positions.begin(); it != m.positions.end(); ++it)
                        positions.insert(it.key(), it.value());
                    o.insert(QStringLiteral("positions"), positions);
                }
                if (!m.recovered.isEmpty()) {
                    QJsonObject recovered;
                    for (auto it = m.recovered.begin(); it != m.recovered.end(); ++it)
                        recovered.insert(it.key(), it.value());
                    o.insert(QStringLiteral("recovered"), recovered);
                }
                return toJson(o);
            } else if constexpr (std::is_same_v<T, UnsubscribedEvent>) {
                return toJson({{event, QStringLiteral("unsubscribed")},
                               {QStringLiteral("streams"), toArray(m.streams)}});
            } else if constexpr (std::is_same_v<T, MessageEvent>) {
                return toJson({{event, QStringLiteral("message")},
                               {QStringLiteral("stream"), m.stream},
                               {QStringLiteral("id"), m.id},
                               {QStringLiteral("data"), m.data}});
            } else if constexpr (std::is_same_v<T, SystemEvent>) {
                QJsonObject o{{event, QStringLiteral("system")},
                              {QStringLiteral("id"), m.id},
                              {QStringLiteral("data"), noticeObject(m.notice)}};
                if (m.expiresAtMs > 0)
                    o.insert(QStringLiteral("expires_at"), m.expiresAtMs);
                return toJson(o);
            } else if constexpr (std::is_same_v<T, WithdrawnEvent>) {
                return toJson({{event, QStringLiteral("withdrawn")}, {QStringLiteral("id"), m.id}});
            } else if constexpr (std::is_same_v<T, OnlineEvent>) {
                return toJson({{event, QStringLiteral("online")},
                               {QStringLiteral("connections"), m.connections},
                               {QStringLiteral("users"), m.users}});
            } else if constexpr (std::is_same_v<T, ErrorEvent>) {
                QJsonObject o{{event, QStringLiteral("error")},
                              {QStringLiteral("code"), errorCodeName(m.error.code)},
                              {QStringLiteral("message"), m.error.message}};
                if (!m.stream.isEmpty())
                    o.insert(QStringLiteral("stream"), m.stream);
                return toJson(o);
            } else {
                return toJson({{event, QStringLiteral("pong")}});
            }
        },
        message);
}

Decoded<ServerMessage> decodeServerMessage(QByteArrayView json) {
    auto parsed = parseEvent(json);
    if (auto* e = std::get_if<Error>(&parsed))
        return *e;
    // Named references, not a structured binding: clang before 16 cannot capture one.
    const QJsonObject& o = std::get<std::pair<QJsonObject, QString>>(parsed).first;
    const QString& name = std::get<std::pair<QJsonObject, QString>>(parsed).second;
    auto str = [&o](const char* key) { return o.value(QLatin1String(key)).toString(); };

    if (name == QLatin1String("welcome"))
        return WelcomeEvent{str("node"), str("session"), str("user"),
                            o.value(QLatin1String("protocol")).toInt()};
    if (name == QLatin1String("subscribed")) {
        SubscribedEvent event{toStringList(o.value(QLatin1String("streams"))), {}, {}};
        const QJsonObject positions = o.value(QLatin1String("positions")).toObject();
        for (auto it = positions.begin(); it != positions.end(); ++it)
            event.positions.insert(it.key(), it.value().toString());
        const QJsonObject recovered = o.value(QLatin1String("recovered")).toObject();
        for (auto it = recovered.begin(); it != recovered.end(); ++it)
            event.recovered.insert(it.key(), it.value().toBool());
        return event;
    }
    if (name == QLatin1String("unsubscribed"))
        return UnsubscribedEvent{toStringList(o.value(QLatin1String("streams")))};
    if (name == QLatin1String("message")) {
        if (!o.value(QLatin1String("stream")).isString())
            return badRequest(QStringLiteral("message without \"stream\""));
        return MessageEvent{str("stream"), str("id"), o.value(QLatin1String("data"))};
    }
    if (name == QLatin1String("system")) {
        auto notice = readNotice(o.value(QLatin1String("data")).toObject());
        if (auto* e = std::get_if<Error>(&notice))
            return *e;
        return SystemEvent{str("id"), std::get<SystemNotice>(notice),
                           o.value(QLatin1String("expires_at")).toInteger()};
    }
    if (name == QLatin1String("withdrawn"))
        return WithdrawnEvent{str("id")};
    if (name == QLatin1String("online")) {
        const auto connections = requireCount(o, QStringLiteral("connections"));
        if (auto* e = std::get_if<Error>(&connections))
            return *e;
        const auto users = requireCount(o, QStringLiteral("users"));
        if (auto* e = std::get_if<Error>(&users))
            return *e;
        return OnlineEvent{std::get<qint64>(connections), std::get<qint64>(users)};
    }
    if (name == QLatin1String("error")) {
        ErrorEvent ev;
        if (!errorCodeFromName(str("code"), &ev.error.code))
            ev.error.code = ErrorCode::Internal;
        ev.error.message = str("message");
        ev.stream = str("stream");
        return ev;
    }
    if (name == QLatin1String("pong"))
        return PongEvent{};
    return Error{ErrorCode::UnknownEvent,
                 QStringLiteral("unknown server event \"%1\"").arg(name.left(64))};
}

// ---------------------------------------------------------------- HTTP API bodies

namespace {
Decoded<PublishRequest> publishFromObject(const QJsonObject& o) {
    const auto stream = requireString(o, QStringLiteral("stream"));
    if (auto* e = std::get_if<Error>(&stream))
        return *e;
    const auto user = optionalString(o, QStringLiteral("user"));
    if (auto* e = std::get_if<Error>(&user))
        return *e;
    if (!o.contains(QLatin1String("data")))
        return badRequest(QStringLiteral("missing field \"data\""));
    return PublishRequest{std::get<QString>(stream), std::get<QString>(user),
                          o.value(QLatin1String("data"))};
}
} // namespace

Decoded<PublishRequest> decodePublishRequest(QByteArrayView json) {
    auto parsed = parseObject(json);
    if (auto* e = std::get_if<Error>(&parsed))
        return *e;
    return publishFromObject(std::get<QJsonObject>(parsed));
}

Decoded<QList<Decoded<PublishRequest>>> decodePublishBatch(QByteArrayView json) {
    auto doc = parseDocument(json);
    if (auto* e = std::get_if<Error>(&doc))
        return *e;
    if (!std::get<QJsonDocument>(doc).isArray())
        return badRequest(QStringLiteral("expected a JSON array of publish objects"));
    const QJsonArray array = std::get<QJsonDocument>(doc).array();
    if (array.size() > kMaxPublishBatchItems)
        return Error{ErrorCode::TooLarge,
                     QStringLiteral("a batch holds at most %1 items; this one has %2")
                         .arg(kMaxPublishBatchItems)
                         .arg(array.size())};
    QList<Decoded<PublishRequest>> items;
    items.reserve(array.size());
    for (const QJsonValue& item : array) {
        if (item.isObject())
            items.append(publishFromObject(item.toObject()));
        else
            items.append(badRequest(QStringLiteral("expected a JSON object")));
    }
    return items;
}

QByteArray encode(const PublishRequest& request) {
    QJsonObject o{{QStringLiteral("stream"), request.stream},
                  {QStringLiteral("data"), request.data}};
    if (!request.user.isEmpty())
        o.insert(QStringLiteral("user"), request.user);
    return toJson(o);
}

Decoded<BroadcastRequest> decodeBroadcastRequest(QByteArrayView json) {
    auto parsed = parseObject(json);
    if (auto* e = std::get_if<Error>(&parsed))
        return *e;
    auto notice = readNotice(std::get<QJsonObject>(parsed));
    if (auto* e = std::get_if<Error>(&notice))
        return *e;
    const auto ttl = readTtl(std::get<QJsonObject>(parsed));
    if (auto* e = std::get_if<Error>(&ttl))
        return *e;
    return BroadcastRequest{std::get<SystemNotice>(notice), std::get<qint64>(ttl)};
}

QByteArray encode(const BroadcastRequest& request) {
    QJsonObject o = noticeObject(request.notice);
    if (request.ttlMs > 0)
        o.insert(QStringLiteral("ttl"), formatTtl(request.ttlMs));
    return toJson(o);
}

QByteArray encodeHttpError(const Error& error) {
    return toJson(
        {{QStringLiteral("error"), QJsonObject{{QStringLiteral("code"), errorCodeName(error.code)},
                                               {QStringLiteral("message"), error.message}}}});
}

} // namespace codec
} // namespace herald
