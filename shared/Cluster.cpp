#include "shared/Cluster.h"

#include "shared/JsonNumbers.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace herald::cluster {
namespace {
QByteArray toBytes(const QJsonObject& o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}
qint64 integer(const QJsonObject& o, const char* key, qint64 fallback = 0) {
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? saturatingInteger(v.toDouble()) : fallback;
}
} // namespace

namespace {
constexpr std::pair<NodeState, const char*> kStates[] = {{NodeState::Serving, "serving"},
                                                         {NodeState::Draining, "draining"},
                                                         {NodeState::Stopping, "stopping"},
                                                         {NodeState::Stopped, "stopped"}};
constexpr std::pair<TargetKind, const char*> kKinds[] = {{TargetKind::All, "all"},
                                                         {TargetKind::Stream, "stream"},
                                                         {TargetKind::User, "user"},
                                                         {TargetKind::Node, "node"}};

template <typename Enum, std::size_t N>
QString nameIn(const std::pair<Enum, const char*> (&table)[N], Enum value) {
    for (const auto& [v, name] : table)
        if (v == value)
            return QString::fromLatin1(name);
    return QString::fromLatin1(table[0].second);
}

template <typename Enum, std::size_t N>
std::optional<Enum> valueIn(const std::pair<Enum, const char*> (&table)[N], const QString& name) {
    for (const auto& [v, n] : table)
        if (name == QLatin1String(n))
            return v;
    return std::nullopt;
}
} // namespace

QString nodeStateName(NodeState state) {
    return nameIn(kStates, state);
}
std::optional<NodeState> nodeStateFromName(const QString& name) {
    return valueIn(kStates, name);
}
QString targetKindName(TargetKind kind) {
    return nameIn(kKinds, kind);
}
std::optional<TargetKind> targetKindFromName(const QString& name) {
    return valueIn(kKinds, name);
}

QJsonObject toJson(const NodeInfo& n) {
    return {{QStringLiteral("id"), n.id},
            {QStringLiteral("address"), n.address},
            {QStringLiteral("version"), n.version},
            {QStringLiteral("state"), nodeStateName(n.state)},
            {QStringLiteral("started_at_ms"), n.startedAtMs},
            {QStringLiteral("connections"), n.connections},
            {QStringLiteral("users"), n.users},
            {QStringLiteral("subscriptions"), n.subscriptions},
            {QStringLiteral("streams"), n.streams},
            {QStringLiteral("messages_in_per_second"), n.messagesInPerSecond},
            {QStringLiteral("deliveries_per_second"), n.deliveriesPerSecond},
            {QStringLiteral("broker_lag_ms"), n.brokerLagMs}};
}

NodeInfo nodeFromJson(const QJsonObject& o) {
    NodeInfo n;
    n.id = o.value(QLatin1String("id")).toString();
    n.address = o.value(QLatin1String("address")).toString();
    n.version = o.value(QLatin1String("version")).toString();
    // An unknown state (a newer node) is shown as serving rather than dropping the node.
    n.state =
        nodeStateFromName(o.value(QLatin1String("state")).toString()).value_or(NodeState::Serving);
    n.startedAtMs = integer(o, "started_at_ms");
    n.connections = integer(o, "connections");
    n.users = integer(o, "users");
    n.subscriptions = integer(o, "subscriptions");
    n.streams = integer(o, "streams");
    n.messagesInPerSecond = o.value(QLatin1String("messages_in_per_second")).toDouble();
    n.deliveriesPerSecond = o.value(QLatin1String("deliveries_per_second")).toDouble();
    n.brokerLagMs = integer(o, "broker_lag_ms", -1);
    return n;
}

QByteArray encode(const ControlMessage& message) {
    return std::visit(
        [](const auto& m) -> QByteArray {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Heartbeat>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("heartbeat")},
                                {QStringLiteral("node"), toJson(m.node)},
                                {QStringLiteral("sent_at_ms"), m.sentAtMs},
                                {QStringLiteral("users_seq"), m.usersSeq},
                                {QStringLiteral("interval_ms"), m.intervalMs}});
            } else if constexpr (std::is_same_v<T, UsersChanged>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("users")},
                                {QStringLiteral("node"), m.node},
                                {QStringLiteral("seq"), m.seq},
                                {QStringLiteral("full"), m.full},
                                {QStringLiteral("add"), QJsonArray::fromStringList(m.added)},
                                {QStringLiteral("remove"), QJsonArray::fromStringList(m.removed)}});
            } else if constexpr (std::is_same_v<T, SyncRequest>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("sync")},
                                {QStringLiteral("node"), m.node},
                                {QStringLiteral("from"), m.from}});
            } else if constexpr (std::is_same_v<T, Leave>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("leave")},
                                {QStringLiteral("node"), m.node}});
            } else if constexpr (std::is_same_v<T, AdminBroadcast>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("admin-broadcast")},
                                {QStringLiteral("node"), m.origin},
                                {QStringLiteral("message_id"), m.messageId},
                                {QStringLiteral("request_id"), m.requestId},
                                {QStringLiteral("target_kind"), targetKindName(m.targetKind)},
                                {QStringLiteral("target_value"), m.targetValue},
                                {QStringLiteral("title"), m.notice.title},
                                {QStringLiteral("body"), m.notice.body},
                                {QStringLiteral("level"), levelName(m.notice.level)},
                                {QStringLiteral("expires_at_ms"), m.expiresAtMs}});
            } else if constexpr (std::is_same_v<T, StickyWithdraw>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("sticky-withdraw")},
                                {QStringLiteral("node"), m.origin},
                                {QStringLiteral("id"), m.id}});
            } else if constexpr (std::is_same_v<T, DeliveryReport>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("delivery-report")},
                                {QStringLiteral("node"), m.node},
                                {QStringLiteral("origin"), m.origin},
                                {QStringLiteral("message_id"), m.messageId},
                                {QStringLiteral("delivered"), m.delivered}});
            } else if constexpr (std::is_same_v<T, StreamsQuery>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("streams-query")},
                                {QStringLiteral("node"), m.origin},
                                {QStringLiteral("query_id"), m.queryId}});
            } else if constexpr (std::is_same_v<T, StreamsAnswer>) {
                QJsonArray list;
                for (const auto& [key, count] : m.streams)
                    list.append(QJsonArray{key, count});
                return toBytes({{QStringLiteral("type"), QStringLiteral("streams-answer")},
                                {QStringLiteral("node"), m.node},
                                {QStringLiteral("origin"), m.origin},
                                {QStringLiteral("query_id"), m.queryId},
                                {QStringLiteral("streams"), list}});
            } else if constexpr (std::is_same_v<T, DrainOrder>) {
                return toBytes({{QStringLiteral("type"), QStringLiteral("drain")},
                                {QStringLiteral("node"), m.node},
                                {QStringLiteral("origin"), m.origin}});
            } else {
                return toBytes({{QStringLiteral("type"), QStringLiteral("disconnect")},
                                {QStringLiteral("node"), m.origin},
                                {QStringLiteral("user"), m.user}});
            }
        },
        message);
}

std::optional<ControlMessage> decode(const QByteArray& payload) {
    const QJsonObject o = QJsonDocument::fromJson(payload).object();
    const QString type = o.value(QLatin1String("type")).toString();
    auto list = [&o](const char* key) {
        QStringList out;
        for (const QJsonValue& v : o.value(QLatin1String(key)).toArray())
            if (v.isString())
                out.append(v.toString());
        return out;
    };
    const QString node = o.value(QLatin1String("node")).toString();
    if (type == QLatin1String("heartbeat")) {
        Heartbeat h{nodeFromJson(o.value(QLatin1String("node")).toObject()),
                    integer(o, "sent_at_ms"), integer(o, "users_seq"),
                    static_cast<int>(integer(o, "interval_ms", 1000))};
        if (h.node.id.isEmpty())
            return std::nullopt;
        return h;
    }
    if (node.isEmpty())
        return std::nullopt;
    if (type == QLatin1String("users"))
        return UsersChanged{node, integer(o, "seq"), o.value(QLatin1String("full")).toBool(),
                            list("add"), list("remove")};
    if (type == QLatin1String("sync"))
        return SyncRequest{node, o.value(QLatin1String("from")).toString()};
    if (type == QLatin1String("leave"))
        return Leave{node};
    auto str = [&o](const char* key) { return o.value(QLatin1String(key)).toString(); };
    if (type == QLatin1String("admin-broadcast")) {
        const auto kind = targetKindFromName(str("target_kind"));
        if (!kind)
            return std::nullopt;
        AdminBroadcast b{str("message_id"),   node, str("request_id"), *kind,
                         str("target_value"), {}};
        b.notice.title = str("title");
        b.expiresAtMs = integer(o, "expires_at_ms");
        b.notice.body = str("body");
        if (b.messageId.isEmpty() || !levelFromName(str("level"), &b.notice.level))
            return std::nullopt;
        return b;
    }
    if (type == QLatin1String("sticky-withdraw") && !str("id").isEmpty())
        return StickyWithdraw{str("id"), node};
    if (type == QLatin1String("delivery-report"))
        return DeliveryReport{str("message_id"), str("origin"), node, integer(o, "delivered")};
    if (type == QLatin1String("streams-query"))
        return StreamsQuery{str("query_id"), node};
    if (type == QLatin1String("streams-answer")) {
        StreamsAnswer a{str("query_id"), str("origin"), node, {}};
        for (const QJsonValue& v : o.value(QLatin1String("streams")).toArray()) {
            const QJsonArray pair = v.toArray();
            if (pair.size() == 2 && pair.at(0).isString() && pair.at(1).isDouble())
                a.streams.append({pair.at(0).toString(), saturatingInteger(pair.at(1).toDouble())});
        }
        return a;
    }
    if (type == QLatin1String("drain"))
        return DrainOrder{node, str("origin")};
    if (type == QLatin1String("disconnect") && !str("user").isEmpty())
        return DisconnectOrder{str("user"), node};
    return std::nullopt;
}

} // namespace herald::cluster
