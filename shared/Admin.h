#pragma once

#include "shared/Cluster.h"
#include "shared/Errors.h"
#include "shared/Messages.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QString>
#include <variant>

// The admin protocol between herald-console (or heraldctl) and a node's /admin endpoint
// (docs/protocol.md, "Admin protocol"). Plain value types; one codec.
namespace herald::admin {

// Who a broadcast is for.
struct Target {
    using Kind = cluster::TargetKind;
    Kind kind = Kind::All;
    QString value; // stream spec ("promotional", "private.u1.order"), user id or node id
    bool operator==(const Target&) const = default;
};

// ---- console -> server ----
struct BroadcastCommand {
    QString requestId; // chosen by the console; echoed in every report
    Target target;
    SystemNotice notice;
    qint64 ttlMs = 0; // > 0: sticky (target all only)
    bool operator==(const BroadcastCommand&) const = default;
};
// Withdraws an active sticky notice (its message id) on every node.
struct WithdrawCommand {
    QString id;
    bool operator==(const WithdrawCommand&) const = default;
};
struct StreamsCommand {
    int limit = 50;
    bool operator==(const StreamsCommand&) const = default;
};
struct DrainCommand {
    QString node;
    bool operator==(const DrainCommand&) const = default;
};
struct DisconnectCommand {
    QString user;
    bool operator==(const DisconnectCommand&) const = default;
};
struct AuditCommand {
    int limit = 100;
    bool operator==(const AuditCommand&) const = default;
};
// "tail" is a plain client subscribe on /admin (admins may subscribe to any stream).
using AdminCommand =
    std::variant<BroadcastCommand, StreamsCommand, DrainCommand, DisconnectCommand, AuditCommand,
                 SubscribeRequest, UnsubscribeRequest, PingRequest, WithdrawCommand>;

// ---- server -> console ----
struct ClusterSnapshot {
    QList<cluster::NodeInfo> nodes;
    qint64 connections = 0;
    qint64 users = 0;
    bool operator==(const ClusterSnapshot&) const = default;
};
struct BroadcastReport {
    QString requestId;
    QString messageId;
    Target target;
    QMap<QString, qint64> deliveredByNode; // filled in as nodes report
    qint64 delivered() const;
    bool operator==(const BroadcastReport&) const = default;
};
struct StreamStat {
    QString stream; // routing key
    qint64 subscribers = 0;
    bool operator==(const StreamStat&) const = default;
};
struct StreamsReport {
    QList<StreamStat> streams; // most subscribers first, summed over live nodes
    bool operator==(const StreamsReport&) const = default;
};
struct AuditEntry {
    qint64 atMs = 0;
    QString who;    // the admin token's name
    QString action; // broadcast | drain | disconnect | ...
    QString target;
    QString detail;
    bool operator==(const AuditEntry&) const = default;
};
struct AuditReport {
    QList<AuditEntry> entries; // newest first
    bool operator==(const AuditReport&) const = default;
};
struct Ack {
    QString requestId; // for broadcast; the command name otherwise
    QString what;
    bool operator==(const Ack&) const = default;
};
// The active sticky notices, soonest to lapse first: sent on connect and on every change.
struct StickyList {
    QList<StickyNotice> notices;
    bool operator==(const StickyList&) const = default;
};
using AdminEvent =
    std::variant<ClusterSnapshot, BroadcastReport, StreamsReport, AuditReport, Ack, StickyList>;

template <class T> using Decoded = std::variant<T, Error>;

Decoded<AdminCommand> decodeCommand(QByteArrayView json);
QByteArray encode(const AdminCommand& command);
QByteArray encode(const AdminEvent& event);
// Admin events, or any client-protocol event (welcome, message, error, ...) as a ServerMessage.
Decoded<std::variant<AdminEvent, ServerMessage>> decodeEvent(QByteArrayView json);

} // namespace herald::admin
