#pragma once

#include "server/Frame.h"
#include "server/StickyStore.h"
#include "shared/Cluster.h"

#include <QHash>
#include <QObject>
#include <QTimer>
#include <functional>
#include <optional>

namespace herald {

class Broker;
class Hub;
class RedisShards;

// Sticky system notices (a broadcast with a ttl): every node keeps the active ones in memory and
// sends them to each new client connection right after its welcome, without asking Redis. With
// Redis they are also kept in the hash <prefix>sticky (id -> the system event as sent), so a node
// that starts or reconnects later reads them; additions and withdrawals are announced on the
// cluster channel, so every node updates its list at once. A timer on the nearest expiry drops
// lapsed ones. Admin connections do not get them on connect: the console is sent the list.
class StickyNotices : public QObject {
    Q_OBJECT
public:
    using Done = std::function<void(std::optional<Error>)>;

    // `redis` is the command connection, or nullptr (embedded broker: memory only).
    StickyNotices(QString selfId, Hub& hub, Broker& broker, RedisShards* redis, QByteArray key,
                  QObject* parent = nullptr);

    // On the node where it was asked: stores `b` (a broadcast with expiresAtMs set, target all)
    // and announces it to every node (this one included). `done` once, never inside the call.
    void publish(const cluster::AdminBroadcast& b, Done done);
    // An error when no further notice may be added now (the limit of active notices).
    std::optional<Error> refusal() const;
    // On the node where it was asked: removes an active notice everywhere.
    void withdraw(const QString& id, Done done);

    // On every node, from the cluster channel. remember() is false for a notice known already
    // (or withdrawn, or lapsed): its delivery to open connections is then skipped.
    bool remember(const cluster::AdminBroadcast& b);
    void forget(const QString& id);

    std::optional<StickyNotice> find(const QString& id) const { return store_.find(id); }
    QList<StickyNotice> active() const { return store_.active(); }

Q_SIGNALS:
    // The list of active notices changed (added, withdrawn, lapsed, reloaded).
    void changed();

private:
    void onAttached(quint64 sessionId);
    void load();
    void onLoaded(const QList<StickyNotice>& shared, quint64 load);
    void add(const StickyNotice& notice);
    void sendWithdrawn(const QString& id);
    void expire();
    void armTimer();
    void announce(const cluster::ControlMessage& message, Done done);
    qint64 nowMs() const;

    QString selfId_;
    Hub& hub_;
    Broker& broker_;
    RedisShards* redis_;
    QByteArray key_;
    StickyStore store_;
    QHash<QString, Frame> frames_; // each active notice's system event, encoded once
    QTimer expiry_;
};

} // namespace herald
