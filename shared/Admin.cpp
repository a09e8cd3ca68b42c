#include "shared/Admin.h"

#include <cmath>

#include "shared/Codec.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtNumeric>

#include <limits>

namespace herald::admin {
namespace {

QByteArray toJson(const QJsonObject& o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}
Error badRequest(const QString& message) {
    return {ErrorCode::BadRequest, message};
}

QJsonObject targetJson(const Target& t) {
    return {{QStringLiteral("kind"), cluster::targetKindName(t.kind)},
            {QStringLiteral("value"), t.value}};
}

std::variant<Target, Error> readTarget(const QJsonValue& v) {
    if (v.isUndefined() || v.isNull())
        return Target{};
    if (!v.isObject())
        return badRequest(QStringLiteral("\"target\" must be an object {\"kind\", \"value\"}"));
    const QJsonObject o = v.toObject();
    const QString kind = o.value(QLatin1String("kind")).toString();
    if (const auto k = cluster::targetKindFromName(kind)) {
        Target t{*k, o.value(QLatin1String("value")).toString()};
        if (*k != Target::Kind::All && t.value.isEmpty())
            return badRequest(QStringLiteral("a %1 target needs a \"value\"").arg(kind));
        return t;
    }
    return badRequest(QStringLiteral("target kind must be all, stream, user or node, not \"%1\"")
                          .arg(kind.left(40)));
}

// "limit" is optional; when given it must be a whole number from 1 to 1000 (said, not clamped).
std::variant<int, Error> readLimit(const QJsonObject& o, int fallback) {
    const QJsonValue v = o.value(QLatin1String("limit"));
    if (v.isUndefined())
        return fallback;
    const double n = v.toDouble(-1);
    if (!v.isDouble() || n != std::floor(n) || n < 1 || n > 1000)
        return badRequest(QStringLiteral("\"limit\" must be a whole number from 1 to 1000"));
    return static_cast<int>(n);
}

} // namespace

qint64 BroadcastReport::delivered() const {
    // The counts come from every node's report (and so from anyone who can publish on Redis):
    // saturate instead of overflowing, which is undefined behaviour.
    qint64 sum = 0;
    for (qint64 n : deliveredByNode)
        if (qAddOverflow(sum, n, &sum))
            sum = n > 0 ? std::numeric_limits<qint64>::max() : std::numeric_limits<qint64>::min();
    return sum;
}

Decoded<AdminCommand> decodeCommand(QByteArrayView json) {
    // The client protocol's own events come first: tail is a subscribe.
    auto client = codec::decodeClientMessage(json);
    if (auto* m = std::get_if<ClientMessage>(&client))
        return std::visit([](const auto& v) -> AdminCommand { return v; }, *m);
    const Error clientError = std::get<Error>(client);
    if (clientError.code != ErrorCode::UnknownEvent)
        return clientError;
    const QJsonObject o =
        QJsonDocument::fromJson(QByteArray::fromRawData(json.data(), json.size())).object();
    const QString event = o.value(QLatin1String("event")).toString();
    if (event == QLatin1String("broadcast")) {
        auto notice = codec::decodeBroadcastRequest(json);
        if (auto* e = std::get_if<Error>(&notice))
            return *e;
        auto target = readTarget(o.value(QLatin1String("target")));
        if (auto* e = std::get_if<Error>(&target))
            return *e;
        const BroadcastRequest& request = std::get<BroadcastRequest>(notice);
        return BroadcastCommand{o.value(QLatin1String("id")).toString(), std::get<Target>(target),
                                request.notice, request.ttlMs};
    }
    if (event == QLatin1String("withdraw")) {
        const QJsonValue id = o.value(QLatin1String("id"));
        if (!id.isString() || id.toString().isEmpty())
            return badRequest(QStringLiteral("\"withdraw\" needs the notice's \"id\""));
        return WithdrawCommand{id.toString()};
    }
    if (event == QLatin1String("streams") || event == QLatin1String("audit")) {
        const bool streams = event == QLatin1String("streams");
        const auto limit = readLimit(o, streams ? 50 : 100);
        if (const auto* e = std::get_if<Error>(&limit))
            return *e;
        if (streams)
            return StreamsCommand{std::get<int>(limit)};
        return AuditCommand{std::get<int>(limit)};
    }
    if (event == QLatin1String("drain") || event == QLatin1String("disconnect")) {
        const char* key = event == QLatin1String("drain") ? "node" : "user";
        const QString value = o.value(QLatin1String(key)).toString();
        if (value.isEmpty())
            return badRequest(
                QStringLiteral("\"%1\" needs a \"%2\"").arg(event, QLatin1String(key)));
        if (event == QLatin1String("drain"))
            return DrainCommand{value};
        return DisconnectCommand{value};
    }
    return Error{
        ErrorCode::UnknownEvent,
        QStringLiteral("unknown admin event \"%1\" (expected broadcast, withdraw, streams, drain, "
                       "disconnect, audit, subscribe, unsubscribe or ping)")
            .arg(event.left(64))};
}

QByteArray encode(const AdminCommand& command) {
    return std::visit(
        [](const auto& c) -> QByteArray {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, BroadcastCommand>) {
                QJsonObject o{{QStringLiteral("event"), QStringLiteral("broadcast")},
                              {QStringLiteral("id"), c.requestId},
                              {QStringLiteral("target"), targetJson(c.target)},
                              {QStringLiteral("title"), c.notice.title},
                              {QStringLiteral("body"), c.notice.body},
                              {QStringLiteral("level"), levelName(c.notice.level)}};
                if (c.ttlMs > 0)
                    o.insert(QStringLiteral("ttl"), codec::formatTtl(c.ttlMs));
                return toJson(o);
            } else if constexpr (std::is_same_v<T, WithdrawCommand>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("withdraw")},
                               {QStringLiteral("id"), c.id}});
            } else if constexpr (std::is_same_v<T, StreamsCommand>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("streams")},
                               {QStringLiteral("limit"), c.limit}});
            } else if constexpr (std::is_same_v<T, AuditCommand>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("audit")},
                               {QStringLiteral("limit"), c.limit}});
            } else if constexpr (std::is_same_v<T, DrainCommand>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("drain")},
                               {QStringLiteral("node"), c.node}});
            } else if constexpr (std::is_same_v<T, DisconnectCommand>) {
                return toJson({{QStringLiteral("event"), QStringLiteral("disconnect")},
                               {QStringLiteral("user"), c.user}});
            } else {
                return codec::encode(ClientMessage{c});
            }
        },
        command);
}

QByteArray encode(const AdminEvent& event) {
    return std::visit(
        [](const auto& e) -> QByteArray {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ClusterSnapshot>) {
                QJsonArray nodes;
                for (const cluster::NodeInfo& n : e.nodes)
                    nodes.append(cluster::toJson(n));
                return toJson({{QStringLiteral("event"), QStringLiteral("cluster")},
                               {QStringLiteral("nodes"), nodes},
                               {QStringLiteral("totals"),
                                QJsonObject{{QStringLiteral("connections"), e.connections},
                                            {QStringLiteral("users"), e.users},
                                            {QStringLiteral("nodes"),
                                             static_cast<qint64>(e.nodes.size())}}}});
            } else if constexpr (std::is_same_v<T, BroadcastReport>) {
                QJsonObject byNode;
                for (auto it = e.deliveredByNode.begin(); it != e.deliveredByNode.end(); ++it)
                    byNode.insert(it.key(), it.value());
                return toJson({{QStringLiteral("event"), QStringLiteral("broadcast-report")},
                               {QStringLiteral("id"), e.requestId},
                               {QStringLiteral("message_id"), e.messageId},
                               {QStringLiteral("target"), targetJson(e.target)},
                               {QStringLiteral("nodes"), byNode},
                               {QStringLiteral("delivered"), e.delivered()}});
            } else if constexpr (std::is_same_v<T, StreamsReport>) {
                QJsonArray list;
                for (const StreamStat& s : e.streams)
                    list.append(QJsonObject{{QStringLiteral("stream"), s.stream},
                                            {QStringLiteral("subscribers"), s.subscribers}});
                return toJson({{QStringLiteral("event"), QStringLiteral("streams")},
                               {QStringLiteral("streams"), list}});
            } else if constexpr (std::is_same_v<T, AuditReport>) {
                QJsonArray list;
                for (const AuditEntry& a : e.entries)
                    list.append(QJsonObject{{QStringLiteral("at_ms"), a.atMs},
                                            {QStringLiteral("who"), a.who},
                                            {QStringLiteral("action"), a.action},
                                            {QStringLiteral("target"), a.target},
                                            {QStringLiteral("detail"), a.detail}});
                return toJson({{QStringLiteral("event"), QStringLiteral("audit")},
                               {QStringLiteral("entries"), list}});
            } else if constexpr (std::is_same_v<T, StickyList>) {
                QJsonArray list;
                for (const StickyNotice& n : e.notices)
                    list.append(QJsonObject{{QStringLiteral("id"), n.id},
                                            {QStringLiteral("title"), n.notice.title},
                                            {QStringLiteral("body"), n.notice.body},
                                            {QStringLiteral("level"), levelName(n.notice.level)},
                                            {QStringLiteral("expires_at"), n.expiresAtMs}});
                return toJson({{QStringLiteral("event"), QStringLiteral("sticky")},
                               {QStringLiteral("notices"), list}});
            } else {
                return toJson({{QStringLiteral("event"), QStringLiteral("ack")},
                               {QStringLiteral("id"), e.requestId},
                               {QStringLiteral("what"), e.what}});
            }
        },
        event);
}

Decoded<std::variant<AdminEvent, ServerMessage>> decodeEvent(QByteArrayView json) {
    using Result = std::variant<AdminEvent, ServerMessage>;
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray::fromRawData(json.data(), json.size()));
    const QJsonObject o = doc.object();
    const QString event = o.value(QLatin1String("event")).toString();
    auto str = [&o](const char* key) { return o.value(QLatin1String(key)).toString(); };
    if (event == QLatin1String("cluster")) {
        ClusterSnapshot s;
        for (const QJsonValue& n : o.value(QLatin1String("nodes")).toArray())
            s.nodes.append(cluster::nodeFromJson(n.toObject()));
        const QJsonObject totals = o.value(QLatin1String("totals")).toObject();
        s.connections = totals.value(QLatin1String("connections")).toInteger();
        s.users = totals.value(QLatin1String("users")).toInteger();
        return Result{AdminEvent{s}};
    }
    if (event == QLatin1String("broadcast-report")) {
        BroadcastReport r{str("id"), str("message_id"), {}, {}};
        if (auto target = readTarget(o.value(QLatin1String("target")));
            std::holds_alternative<Target>(target))
            r.target = std::get<Target>(target);
        const QJsonObject nodes = o.value(QLatin1String("nodes")).toObject();
        for (auto it = nodes.begin(); it != nodes.end(); ++it)
            r.deliveredByNode.insert(it.key(), it.value().toInteger());
        return Result{AdminEvent{r}};
    }
    if (event == QLatin1String("streams")) {
        StreamsReport r;
        for (const QJsonValue& v : o.value(QLatin1String("streams")).toArray())
            r.streams.append({v.toObject().value(QLatin1String("stream")).toString(),
                              v.toObject().value(QLatin1String("subscribers")).toInteger()});
        return Result{AdminEvent{r}};
    }
    if (event == QLatin1String("audit")) {
        AuditReport r;
        for (const QJsonValue& v : o.value(QLatin1String("entries")).toArray()) {
            const QJsonObject a = v.toObject();
            r.entries.append({a.value(QLatin1String("at_ms")).toInteger(),
                              a.value(QLatin1String("who")).toString(),
                              a.value(QLatin1String("action")).toString(),
                              a.value(QLatin1String("target")).toString(),
                              a.value(QLatin1String("detail")).toString()});
        }
        return Result{AdminEvent{r}};
    }
    if (event == QLatin1String("ack"))
        return Result{AdminEvent{Ack{str("id"), str("what")}}};
    if (event == QLatin1String("sticky")) {
        StickyList list;
        for (const QJsonValue& v : o.value(QLatin1String("notices")).toArray()) {
            const QJsonObject n = v.toObject();
            StickyNotice notice{n.value(QLatin1String("id")).toString(),
                                {n.value(QLatin1String("title")).toString(),
                                 n.value(QLatin1String("body")).toString(), Level::Info},
                                n.value(QLatin1String("expires_at")).toInteger()};
            levelFromName(n.value(QLatin1String("level")).toString(), &notice.notice.level);
            list.notices.append(notice);
        }
        return Result{AdminEvent{list}};
    }
    auto server = codec::decodeServerMessage(json);
    if (auto* e = std::get_if<Error>(&server))
        return *e;
    return Result{std::get<ServerMessage>(server)};
}

} // namespace herald::admin
