#pragma once

#include "shared/Messages.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <optional>
#include <variant>

// What nodes tell each other on the cluster control channel, and what the console is shown.
namespace herald::cluster {

// The control channel's key (on Redis: <prefix>cluster). Routing keys always start with
// "public." or "private." or are "system", so it cannot collide with a stream.
inline const QString kControlKey = QStringLiteral("cluster");

// A node's life: serving, then draining (an admin's drain or a SIGTERM with shutdown_drain),
// stopping (closing its connections), stopped. One name table in Cluster.cpp.
enum class NodeState { Serving, Draining, Stopping, Stopped };
QString nodeStateName(NodeState state);
std::optional<NodeState> nodeStateFromName(const QString& name);

// Who an admin broadcast is for (shared/Admin.h's Target::Kind).
enum class TargetKind { All, Stream, User, Node };
QString targetKindName(TargetKind kind);
std::optional<TargetKind> targetKindFromName(const QString& name);

struct NodeInfo {
    QString id;
    QString address;
    QString version;
    NodeState state = NodeState::Serving;
    qint64 startedAtMs = 0;
    qint64 connections = 0;
    qint64 users = 0; // unique users on this node
    qint64 subscriptions = 0;
    qint64 streams = 0;
    double messagesInPerSecond = 0;
    double deliveriesPerSecond = 0;
    qint64 brokerLagMs = -1; // round trip of this node's own heartbeat through the broker
    bool operator==(const NodeInfo&) const = default;
};

QJsonObject toJson(const NodeInfo& node);
NodeInfo nodeFromJson(const QJsonObject& o);

// Control messages. Every node numbers its user-set changes; a receiver that sees a gap, or a
// heartbeat announcing a number it has not seen, asks that node for its full set.
struct Heartbeat {
    NodeInfo node;
    qint64 sentAtMs = 0;
    qint64 usersSeq = 0; // the sequence number of the node's latest users message
    int intervalMs = 1000;
};
struct UsersChanged {
    QString node;
    qint64 seq = 0;
    bool full = false; // true: `added` is the node's whole set
    QStringList added;
    QStringList removed;
};
struct SyncRequest {
    QString node; // whose full user set is wanted
    QString from;
};
struct Leave {
    QString node;
};

// Admin operations that every node carries out (docs/protocol.md, "Admin protocol"). `origin` is
// the node whose admin asked; answers (reports) are meant for it alone.
struct AdminBroadcast {
    QString messageId;
    QString origin;
    QString requestId;
    TargetKind targetKind = TargetKind::All;
    QString targetValue; // a routing key, user id or node id
    SystemNotice notice;
    // > 0: a sticky notice (target all), lapsing then (ms since the epoch). Every node keeps it
    // and gives it to each new connection right after its welcome.
    qint64 expiresAtMs = 0;
};
// An admin withdrew a sticky notice: every node forgets it and tells its open connections.
struct StickyWithdraw {
    QString id;
    QString origin;
};
struct DeliveryReport {
    QString messageId;
    QString origin;
    QString node; // the reporting node
    qint64 delivered = 0;
};
struct StreamsQuery {
    QString queryId;
    QString origin;
};
struct StreamsAnswer {
    QString queryId;
    QString origin;
    QString node;
    QList<QPair<QString, qint64>> streams; // routing key -> subscribers on that node
};
struct DrainOrder {
    QString node;
    QString origin;
};
struct DisconnectOrder {
    QString user;
    QString origin;
};

using ControlMessage =
    std::variant<Heartbeat, UsersChanged, SyncRequest, Leave, AdminBroadcast, DeliveryReport,
                 StreamsQuery, StreamsAnswer, DrainOrder, DisconnectOrder, StickyWithdraw>;

QByteArray encode(const ControlMessage& message);
std::optional<ControlMessage> decode(const QByteArray& payload);

} // namespace herald::cluster
