#pragma once

#include "server/Broker.h"
#include "shared/Cluster.h"

#include <QHash>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <functional>

namespace herald {

// This node's place in the cluster: it heartbeats its figures, keeps the table of live nodes
// (a node silent for 3 of its intervals is dropped, one that leaves cleanly goes at once), and
// keeps the exact set of users online across nodes so that a user on two nodes counts once.
// User sets travel as numbered deltas; a gap or a missed number triggers a full resync of
// that node, so lost pub/sub messages (Redis blips) heal by themselves.
class Presence : public QObject {
    Q_OBJECT
public:
    struct Totals {
        qint64 connections = 0;
        qint64 users = 0;
        qint64 nodes = 1;
    };

    Presence(QString selfId, int intervalMs, Broker& broker,
             std::function<cluster::NodeInfo()> selfInfo, QObject* parent = nullptr);

    void start();
    // Tells the others this node is going (they drop it at once); `sent` runs once the broker
    // has taken the message (or refused it).
    void leave(std::function<void()> sent = {});

    // The local user set, from the Hub: first connection of a user / last one gone.
    void userArrived(const QString& user);
    void userLeft(const QString& user);

    Totals totals() const;
    // Every live node, this one first (with fresh figures).
    QList<cluster::NodeInfo> liveNodes() const;
    qint64 brokerLagMs() const { return lagMs_; }
    // How long this node's own heartbeats have not come back through the broker, when that is
    // over three intervals (a hung broker: connected, yet nothing moves); 0 otherwise.
    qint64 heartbeatOverdueMs() const;

Q_SIGNALS:
    void nodeJoined(const QString& id);
    void nodeLeft(const QString& id, bool expired);
    // A control message that is not about membership (admin broadcasts, drains, ...).
    void controlMessage(const herald::cluster::ControlMessage& message);

private:
    struct Peer {
        cluster::NodeInfo info;
        qint64 lastSeenMs = 0;
        int intervalMs = 1000;
        qint64 usersSeq = -1; // last applied; -1: never synced
        QSet<QString> users;
        qint64 syncRequestedMs = 0;
    };

    void tick();
    bool deaf(qint64 now) const; // own heartbeats have stopped arriving
    void expire();
    void onControlMessage(const QByteArray& payload);
    void onHeartbeat(const cluster::Heartbeat& h);
    void onUsers(const cluster::UsersChanged& u);
    void requestSync(Peer& peer);
    void publishFullSet();
    Peer& peer(const QString& id);
    void dropPeer(const QString& id, bool expired);
    void countUser(const QString& user, int delta);
    void send(const cluster::ControlMessage& message);

    QString selfId_;
    int intervalMs_;
    Broker& broker_;
    std::function<cluster::NodeInfo()> selfInfo_;
    QTimer heartbeat_;
    QTimer expiry_;
    QHash<QString, Peer> peers_;
    QHash<QString, int> nodesPerUser_; // user -> nodes (this one included) where it is online
    QSet<QString> localUsers_;
    QSet<QString> pendingAdded_;
    QSet<QString> pendingRemoved_;
    qint64 usersSeq_ = 0;
    bool fullSetScheduled_ = false;
    qint64 lagMs_ = -1;
    qint64 ownHeartbeatSeenMs_ = 0; // last time our own heartbeat came back (or start)
};

} // namespace herald
