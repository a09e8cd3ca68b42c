#pragma once

#include "server/Broker.h"
#include "server/RedisConnection.h"

#include <QHash>
#include <QList>
#include <QPair>
#include <QSet>
#include <variant>

namespace herald {

// Parses a bridge setting "raw-channel=routing.key,other=private.u1.x" into (raw Redis channel,
// routing key) pairs. Routing keys must pass streams::parseRoutingKey; a raw channel may appear
// once and may be a Redis glob pattern ("orders.*"). Empty or blank spec: no bridges.
std::variant<QList<QPair<QString, QString>>, QString> parseBridges(const QString& spec);

// The cluster broker: routing key K is the Redis channel <prefix>K. One connection subscribes
// (and replays its set after every reconnect), the other runs commands (PUBLISH, and whatever
// presence or audit need through commands()). Call start() after connecting to its signals.
class RedisBroker final : public Broker {
    Q_OBJECT
public:
    RedisBroker(RedisUrl url, QByteArray prefix, QList<QPair<QString, QString>> bridges,
                QObject* parent = nullptr);
    ~RedisBroker() override;

    // Connects both connections (and reconnects them until stop()). Subscriptions made before
    // start() are sent once connected.
    void start();
    void stop();

    // A key with a glob character (*, ? or [) is PSUBSCRIBE'd; its messages arrive under that
    // same key (the subscribed one), so each subscribed key still sees a payload once.
    void subscribe(const QString& key) override;
    void unsubscribe(const QString& key) override;
    // done is called exactly once, never inside publish(): nullopt once Redis accepted the
    // PUBLISH, else Error{Unavailable}.
    void publish(const QString& key, const QByteArray& payload, PublishDone done) override;
    // Through the Redis functions of server/RedisHistory.h (loaded on every connect).
    void publishKept(const QString& key, const Retention& retention, const QByteArray& dataJson,
                     const QString& origin, KeptDone done) override;
    void readHistory(const QString& key, const QString& after, int limit, ReadDone done) override;
    bool isLive(const QString& key) const override;
    // True only while both connections are Ready (and the subscriptions are confirmed).
    bool isReady() const override { return subscriber_.isReady() && commands_.isReady(); }
    QString describe() const override;
    QString problem() const override;

    RedisConnection& commands() { return commands_; }
    RedisConnection& subscriber() { return subscriber_; }
    const QByteArray& prefix() const { return prefix_; }

private:
    void onMessage(const QByteArray& channel, const QByteArray& payload, const QByteArray& pattern);
    void updateReady();
    void loadFunctions();

    RedisUrl url_;
    QByteArray prefix_;
    QHash<QByteArray, QString> bridgeChannels_; // raw channel -> routing key
    QHash<QByteArray, QString> bridgePatterns_; // raw pattern -> routing key
    QSet<QString> keys_;
    RedisConnection subscriber_;
    RedisConnection commands_;
    bool ready_ = false; // last value announced by readyChanged()
};

} // namespace herald
