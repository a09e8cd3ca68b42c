#include "server/Presence.h"

#include <QDateTime>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcPresence, "herald.presence")

namespace herald {
namespace {
qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}
constexpr int kMissedIntervals = 3; // a node silent this many of its intervals is gone
constexpr int kDeafIntervals = 2;   // our own heartbeat missing this long: we cannot hear
} // namespace

Presence::Presence(QString selfId, int intervalMs, Broker& broker,
                   std::function<cluster::NodeInfo()> selfInfo, QObject* parent)
    : QObject(parent)
    , selfId_(std::move(selfId))
    , intervalMs_(intervalMs)
    , broker_(broker)
    , selfInfo_(std::move(selfInfo)) {
    heartbeat_.setInterval(intervalMs_);
    connect(&heartbeat_, &QTimer::timeout, this, &Presence::tick);
    expiry_.setInterval(std::max(50, intervalMs_ / 4));
    connect(&expiry_, &QTimer::timeout, this, &Presence::expire);
    connect(&broker_, &Broker::controlArrived, this, &Presence::onControlMessage);
}

qint64 Presence::heartbeatOverdueMs() const {
    if (ownHeartbeatSeenMs_ == 0 || !heartbeat_.isActive())
        return 0;
    const qint64 silent = nowMs() - ownHeartbeatSeenMs_;
    return silent > 3 * qint64(intervalMs_) ? silent : 0;
}

void Presence::start() {
    ownHeartbeatSeenMs_ = nowMs();
    broker_.subscribe(cluster::kControlKey);
    heartbeat_.start();
    expiry_.start();
    tick();
    // A restarted or new node needs everyone's user sets: ask once, heartbeats cover the rest.
    send(cluster::SyncRequest{QStringLiteral("*"), selfId_});
}

void Presence::leave(std::function<void()> sent) {
    heartbeat_.stop();
    broker_.publish(cluster::kControlKey, cluster::encode(cluster::Leave{selfId_}),
                    [sent = std::move(sent)](std::optional<Error>) {
                        if (sent)
                            sent();
                    });
}

void Presence::send(const cluster::ControlMessage& message) {
    broker_.publish(cluster::kControlKey, cluster::encode(message), {});
}

void Presence::countUser(const QString& user, int delta) {
    auto it = nodesPerUser_.find(user);
    if (it == nodesPerUser_.end()) {
        if (delta > 0)
            nodesPerUser_.insert(user, delta);
        return;
    }
    it.value() += delta;
    if (it.value() <= 0)
        nodesPerUser_.erase(it);
}

void Presence::userArrived(const QString& user) {
    if (localUsers_.contains(user))
        return;
    localUsers_.insert(user);
    countUser(user, +1);
    if (!pendingRemoved_.remove(user))
        pendingAdded_.insert(user);
}

void Presence::userLeft(const QString& user) {
    if (!localUsers_.remove(user))
        return;
    countUser(user, -1);
    if (!pendingAdded_.remove(user))
        pendingRemoved_.insert(user);
}

void Presence::tick() {
    // Deltas go before the heartbeat that announces their number, on the same connection, so a
    // receiver never sees a number before the change it stands for.
    if (!pendingAdded_.isEmpty() || !pendingRemoved_.isEmpty()) {
        send(cluster::UsersChanged{selfId_, ++usersSeq_, false,
                                   QStringList(pendingAdded_.begin(), pendingAdded_.end()),
                                   QStringList(pendingRemoved_.begin(), pendingRemoved_.end())});
        pendingAdded_.clear();
        pendingRemoved_.clear();
    }
    cluster::NodeInfo self = selfInfo_();
    self.brokerLagMs = lagMs_;
    send(cluster::Heartbeat{self, nowMs(), usersSeq_, intervalMs_});
}

void Presence::publishFullSet() {
    fullSetScheduled_ = false;
    // Pending deltas are folded into the full set; numbering continues from it.
    pendingAdded_.clear();
    pendingRemoved_.clear();
    send(cluster::UsersChanged{
        selfId_, ++usersSeq_, true, QStringList(localUsers_.begin(), localUsers_.end()), {}});
}

Presence::Peer& Presence::peer(const QString& id) {
    auto it = peers_.find(id);
    if (it != peers_.end())
        return *it;
    Peer& p = peers_[id];
    p.lastSeenMs = nowMs();
    p.info.id = id;
    qCInfo(lcPresence) << "node" << id << "joined";
    Q_EMIT nodeJoined(id);
    return p;
}

void Presence::requestSync(Peer& p) {
    const qint64 now = nowMs();
    if (now - p.syncRequestedMs < p.intervalMs)
        return; // one request per interval is enough; the answer may still be on its way
    p.syncRequestedMs = now;
    send(cluster::SyncRequest{p.info.id, selfId_});
}

void Presence::onControlMessage(const QByteArray& payload) {
    const auto message = cluster::decode(payload);
    if (!message) {
        qCWarning(lcPresence) << "ignored a malformed control message";
        return;
    }
    if (const auto* h = std::get_if<cluster::Heartbeat>(&*message)) {
        onHeartbeat(*h);
    } else if (const auto* u = std::get_if<cluster::UsersChanged>(&*message)) {
        onUsers(*u);
    } else if (const auto* s = std::get_if<cluster::SyncRequest>(&*message)) {
        if ((s->node == selfId_ || s->node == QLatin1String("*")) && s->from != selfId_ &&
            !fullSetScheduled_) {
            // Coalesce requests from several nodes into one answer on the next loop pass.
            fullSetScheduled_ = true;
            QMetaObject::invokeMethod(this, &Presence::publishFullSet, Qt::QueuedConnection);
        }
    } else if (const auto* l = std::get_if<cluster::Leave>(&*message)) {
        if (l->node != selfId_ && peers_.contains(l->node))
            dropPeer(l->node, false);
    } else {
        Q_EMIT controlMessage(*message); // admin operations: decoded once, here
    }
}

void Presence::onHeartbeat(const cluster::Heartbeat& h) {
    if (h.node.id == selfId_) {
        const qint64 now = nowMs();
        lagMs_ = std::max<qint64>(0, now - h.sentAtMs);
        // Back from deafness (see expire()): every peer gets a fresh allowance, since its
        // silence meanwhile says nothing about it.
        if (deaf(now))
            for (Peer& p : peers_)
                p.lastSeenMs = std::max(p.lastSeenMs, now);
        ownHeartbeatSeenMs_ = now;
        return;
    }
    Peer& p = peer(h.node.id);
    p.info = h.node;
    p.lastSeenMs = nowMs();
    p.intervalMs = std::max(50, h.intervalMs);
    if (p.usersSeq != h.usersSeq)
        requestSync(p);
}

void Presence::onUsers(const cluster::UsersChanged& u) {
    if (u.node == selfId_)
        return;
    Peer& p = peer(u.node);
    if (u.full) {
        for (const QString& user : std::as_const(p.users))
            countUser(user, -1);
        p.users = QSet<QString>(u.added.begin(), u.added.end());
        for (const QString& user : std::as_const(p.users))
            countUser(user, +1);
        p.usersSeq = u.seq;
        return;
    }
    if (p.usersSeq < 0 || u.seq != p.usersSeq + 1) {
        if (u.seq > p.usersSeq)
            requestSync(p); // a gap: a delta was lost; the full set replaces guesswork
        return;
    }
    for (const QString& user : u.added)
        if (!p.users.contains(user)) {
            p.users.insert(user);
            countUser(user, +1);
        }
    for (const QString& user : u.removed)
        if (p.users.remove(user))
            countUser(user, -1);
    p.usersSeq = u.seq;
}

void Presence::dropPeer(const QString& id, bool expired) {
    const auto it = peers_.find(id);
    if (it == peers_.end())
        return;
    for (const QString& user : std::as_const(it->users))
        countUser(user, -1);
    peers_.erase(it);
    qCInfo(lcPresence) << "node" << id << (expired ? "expired (silent)" : "left");
    Q_EMIT nodeLeft(id, expired);
}

bool Presence::deaf(qint64 now) const {
    return ownHeartbeatSeenMs_ != 0 && now - ownHeartbeatSeenMs_ > kDeafIntervals * intervalMs_;
}

void Presence::expire() {
    const qint64 now = nowMs();
    // This node does not hear its own heartbeats: the control channel is broken on our side (a
    // Redis outage, or the master of its shard failing over), so the others' silence proves
    // nothing. Dropping them would make the totals dip on every node at once.
    if (deaf(now))
        return;
    QStringList gone;
    for (auto it = peers_.cbegin(); it != peers_.cend(); ++it)
        if (now - it->lastSeenMs > kMissedIntervals * it->intervalMs)
            gone.append(it.key());
    for (const QString& id : gone)
        dropPeer(id, true);
}

Presence::Totals Presence::totals() const {
    Totals t;
    const cluster::NodeInfo self = selfInfo_();
    t.connections = self.connections;
    for (const Peer& p : peers_)
        t.connections += p.info.connections;
    t.users = nodesPerUser_.size();
    t.nodes = 1 + peers_.size();
    return t;
}

QList<cluster::NodeInfo> Presence::liveNodes() const {
    QList<cluster::NodeInfo> nodes;
    cluster::NodeInfo self = selfInfo_();
    self.brokerLagMs = lagMs_;
    nodes.append(self);
    for (const Peer& p : peers_)
        nodes.append(p.info);
    return nodes;
}

} // namespace herald
