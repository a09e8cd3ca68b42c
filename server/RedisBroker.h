#pragma once

#include "server/Broker.h"
#include "server/RedisShards.h"

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

// The cluster broker: routing key K is the Redis channel <prefix>K. On a single Redis one
// connection subscribes (and replays its set after every reconnect) and the other runs commands
// (PUBLISH, and whatever presence, audit or sticky notices need through shards()). On a Redis
// Cluster each key's channel is a sharded channel (SSUBSCRIBE/SPUBLISH on the master of its
// slot, where its history key lives too); see RedisShards. Call start() after connecting to its
// signals.
class RedisBroker final : public Broker {
    Q_OBJECT
public:
    RedisBroker(RedisUrl url, QByteArray prefix, QList<QPair<QString, QString>> bridges,
                QObject* parent = nullptr);
    // A Redis Cluster known by its seed nodes.
    RedisBroker(QList<RedisUrl> clusterSeeds, QByteArray prefix,
                QList<QPair<QString, QString>> bridges, QObject* parent = nullptr);
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
    // True only while every connection is Ready (and the subscriptions are confirmed).
    bool isReady() const override { return shards_->isReady(); }
    QString describe() const override { return shards_->describe(); }
    QString problem() const override { return shards_->problem(); }

    // Commands by key for everything else the node keeps in Redis.
    RedisShards& shards() { return *shards_; }
    // A single Redis's connections (tests).
    RedisConnection& commands() { return shards_->singleCommands(); }
    RedisConnection& subscriber() { return shards_->singleSubscriber(); }
    const QByteArray& prefix() const { return prefix_; }

private:
    void init(QList<QPair<QString, QString>> bridges);
    void onMessage(const QByteArray& channel, const QByteArray& payload, const QByteArray& pattern);
    void loadFunctions(RedisConnection& commands);

    QByteArray prefix_;
    QHash<QByteArray, QString> bridgeChannels_; // raw channel -> routing key
    QHash<QByteArray, QString> bridgePatterns_; // raw pattern -> routing key
    QSet<QString> keys_;
    std::unique_ptr<RedisShards> shards_;
};

} // namespace herald
