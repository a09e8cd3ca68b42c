#include "shared/Cluster.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace herald::cluster {
namespace {
QByteArray toBytes(const QJsonObject& o) { return QJsonDocument(o).toJson(QJsonDocument::Compact); }
qint64 integer(const QJsonObject& o, const char* key, qint64 fallback = 0) {
    const QJsonValue v = o.value(QLatin1String(key));
    return v.isDouble() ? static_cast<qint64>(v.toDouble()) : fallback;
}
} // namespace

QJsonObject toJson(const NodeInfo& n) {
    return {{QStringLiteral("id"), n.id},
            {QStringLiteral("address"), n.address},
            {QStringLiteral("version"), n.version},
            {QStringLiteral("state"), n.state},
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
    n.state = o.value(QLatin1String("state")).toString();
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
            } else {
                return toBytes({{QStringLiteral("type"), QStringLiteral("leave")}, {QStringLiteral("node"), m.node}});
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
        Heartbeat h{nodeFromJson(o.value(QLatin1String("node")).toObject()), integer(o, "sent_at_ms"),
                    integer(o, "users_seq"), static_cast<int>(integer(o, "interval_ms", 1000))};
        if (h.node.id.isEmpty())
            return std::nullopt;
        return h;
    }
    if (node.isEmpty())
        return std::nullopt;
    if (type == QLatin1String("users"))
        return UsersChanged{node, integer(o, "seq"), o.value(QLatin1String("full")).toBool(), list("add"), list("remove")};
    if (type == QLatin1String("sync"))
        return SyncRequest{node, o.value(QLatin1String("from")).toString()};
    if (type == QLatin1String("leave"))
        return Leave{node};
    return std::nullopt;
}

} // namespace herald::cluster
