#pragma once

#include "server/Broker.h"
#include "shared/StreamIds.h"

#include <QHash>
#include <deque>

namespace herald {

// The embedded broker of a single node: a publish is delivered back to this node on the next
// event-loop pass (never re-entrantly), and only for keys somebody subscribed to. History is a
// bounded ring per stream with Redis's id scheme ("<ms>-<seq>"), so clients resume the same way
// as in a cluster.
class LocalBroker final : public Broker {
    Q_OBJECT
public:
    using Broker::Broker;

    void subscribe(const QString& key) override;
    void unsubscribe(const QString& key) override;
    void publish(const QString& key, const QByteArray& payload, PublishDone done) override;
    void publishKept(const QString& key, const Retention& retention, const QByteArray& dataJson,
                     const QString& origin, KeptDone done) override;
    void readHistory(const QString& key, const QString& after, int limit, ReadDone done) override;
    bool isLive(const QString& key) const override { return subscribed_.contains(key); }
    bool isReady() const override { return true; }
    QString describe() const override { return QStringLiteral("embedded"); }

    // Drops entries older than their stream's age and streams left empty; called on publish and
    // by readers, so an idle stream costs nothing until it is touched.
    void expire(const QString& key, qint64 nowMs);

private:
    struct Kept {
        streamid::Position id;
        QByteArray dataJson;
        qint64 atMs = 0;
    };
    struct Ring {
        std::deque<Kept> entries;
        Retention retention;
        streamid::Position last;       // the newest id given (kept even when trimmed)
        streamid::Position maxDeleted; // the newest id trimmed, {0,0}: none
    };

    void trim(Ring& ring, qint64 nowMs);

    QHash<QString, int> subscribed_;
    QHash<QString, Ring> rings_;
};

} // namespace herald
