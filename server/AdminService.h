#pragma once

#include "server/Frame.h"
#include "shared/Admin.h"
#include "shared/Cluster.h"

#include <QHash>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <functional>

namespace herald {

class Audit;
class Broker;
class Hub;
class Presence;
class Session;
class StickyNotices;

// The node's side of the console's /admin endpoint (docs/protocol.md, "Admin protocol"): the
// cluster snapshot every second, and the commands that need the whole cluster. Those travel as
// control messages on the cluster channel (this node's own included, looped back by the
// broker), so a single node and a cluster take the same path. The hub only routes commands here.
class AdminService : public QObject {
    Q_OBJECT
public:
    AdminService(QString selfId, Hub& hub, Broker& broker, Presence& presence, Audit& audit,
                 StickyNotices& sticky, std::function<void()> drainSelf, QObject* parent = nullptr);
    ~AdminService() override;

    static constexpr int kSnapshotIntervalMs = 1000;
    static constexpr int kStreamsWaitMs = 500; // a streams query answers with what came by then
    static constexpr int kReportLifetimeMs = 60'000; // delivery reports are relayed this long
    static constexpr int kStreamsPerNode = 1000;     // the top streams each node contributes

private:
    void onCommand(Session& session, const admin::AdminCommand& command);
    void broadcast(Session& session, const admin::BroadcastCommand& command);
    void queryStreams(Session& session, const admin::StreamsCommand& command);
    void drain(Session& session, const admin::DrainCommand& command);
    void disconnect(Session& session, const admin::DisconnectCommand& command);
    void withdraw(Session& session, const admin::WithdrawCommand& command);
    Frame stickyFrame() const;

    void onControlMessage(const cluster::ControlMessage& message);
    void onBroadcast(const cluster::AdminBroadcast& b);
    void onDeliveryReport(const cluster::DeliveryReport& r);
    void onStreamsAnswer(const cluster::StreamsAnswer& a);
    void finishStreams(const QString& queryId);
    void pushSnapshots();
    Frame snapshotFrame() const;

    void send(const cluster::ControlMessage& message, quint64 replyTo);
    void sendTo(quint64 sessionId, const admin::AdminEvent& event);
    void record(const Session& who, const QString& action, const QString& target,
                const QString& detail = {});
    bool isLiveNode(const QString& id) const;

    struct PendingBroadcast {
        quint64 session = 0;
        admin::BroadcastReport report;
        qint64 expiresMs = 0;
    };
    struct PendingStreams {
        quint64 session = 0;
        int limit = 50;
        QSet<QString> waiting; // live nodes that have not answered yet
        QHash<QString, qint64> sums;
    };

    QString selfId_;
    Hub& hub_;
    Broker& broker_;
    Presence& presence_;
    Audit& audit_;
    StickyNotices& sticky_;
    std::function<void()> drainSelf_;
    QTimer snapshotTimer_;
    QHash<QString, PendingBroadcast> broadcasts_; // by message id
    QHash<QString, PendingStreams> queries_;      // by query id
    quint64 querySeq_ = 0;
};

} // namespace herald
