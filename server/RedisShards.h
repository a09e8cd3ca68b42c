#pragma once

#include "server/RedisConnection.h"
#include "server/RedisSlots.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <memory>
#include <variant>
#include <vector>

namespace herald {

// The Redis a node talks to, as shards: one shard for a single Redis (it owns every slot), one
// per master for a Redis Cluster. Each shard has two connections on this thread's loop, one for
// commands and one for subscriptions. Debian ships no Redis Cluster client for C or C++, so the
// cluster part (slot map, redirections, failover) is written here on RedisConnection:
//  - the slot map comes from CLUSTER SLOTS, asked at start, every few seconds, and at once when
//    something says it changed (MOVED, a lost master connection, a dropped sharded subscription);
//  - a command goes to the master of its key's slot; MOVED is followed (and the map refreshed),
//    ASK is followed once with ASKING; a command waits for the next map when its master is not
//    known yet;
//  - a channel is SSUBSCRIBE'd on the master of its slot (sharded pub/sub: a message crosses
//    only that shard) and moved when the slot's master changes (failover, resharding);
//  - classic (P)SUBSCRIBEs (bridges, patterns) live on the master of slot 0: in a cluster a
//    classic PUBLISH reaches every node, so any one will do.
class RedisShards : public QObject {
    Q_OBJECT
public:
    struct Shard;

    // A single Redis at `url`.
    explicit RedisShards(RedisUrl url, QObject* parent = nullptr);
    // A Redis Cluster known by its `seeds` (host and port of each; every other field of the
    // first one, credentials, TLS, applies to every node).
    RedisShards(QList<RedisUrl> seeds, QObject* parent);
    ~RedisShards() override;

    // "redis-cluster://[[user]:password@]host:port[,host:port...][?options]" (rediss-cluster://
    // for TLS, with rediss:// options) -> the seeds. False (an error) for any other scheme.
    static bool isClusterUrl(const QString& url);
    static std::variant<QList<RedisUrl>, QString> parseClusterUrl(const QString& url);

    void start();
    void stop();
    bool isCluster() const { return cluster_; }
    // Every slot has a master, and each of those masters' two connections is Ready.
    bool isReady() const;
    // "redis 127.0.0.1:6379", "redis-cluster 127.0.0.1:7000,... (3 masters)".
    QString describe() const;
    // Why not ready: the first connection problem, or the slots without a master.
    QString problem() const;
    // Applies to every connection, present and future (tests shorten it).
    void setBackoff(int initialMs, int maxMs);
    void setRefreshIntervalMs(int ms) { refreshTimer_.setInterval(ms); }

    // One command concerning `key` (its slot picks the master). `done` is called exactly once,
    // never inside the call; errors as RedisConnection::command's.
    void command(QByteArrayView key, const QByteArrayList& argv, RedisConnection::Reply done = {});

    // Publish-subscribe channels of streams: sharded pub/sub on a cluster, classic on a single
    // Redis. publishVerb() is the matching SPUBLISH or PUBLISH.
    void subscribe(const QByteArray& channel);
    void unsubscribe(const QByteArray& channel);
    QByteArray publishVerb() const { return cluster_ ? "SPUBLISH" : "PUBLISH"; }
    // Classic subscriptions (any channel name, or a pattern).
    void subscribeClassic(const QByteArray& name, bool pattern);
    void unsubscribeClassic(const QByteArray& name, bool pattern);
    // Redis confirmed the subscription (kept or made again after a move or reconnect).
    bool isConfirmed(const QByteArray& channel) const;
    bool isClassicConfirmed(const QByteArray& name, bool pattern) const;

    // The single Redis's connections (tests and tools; not for a cluster).
    RedisConnection& singleCommands();
    RedisConnection& singleSubscriber();

Q_SIGNALS:
    // A message of a channel subscribed here; `pattern` as RedisConnection::message.
    void message(const QByteArray& channel, const QByteArray& payload, const QByteArray& pattern);
    // A subscription is (again) in place: subscribe() (pattern false) or subscribeClassic().
    void subscriptionConfirmed(const QByteArray& name, bool pattern);
    // A master's command connection became Ready: per-server setup (functions) goes here first.
    void masterReady(RedisConnection& commands);
    void readyChanged(bool ready);

private:
    struct Pending;
    void addShardFor(const QString& host, quint16 port);
    Shard* shardAt(const QString& host, quint16 port) const;
    Shard* owner(int slot) const { return owners_[size_t(slot)]; }
    void route(Pending pending);
    void onReply(Pending pending, const RedisReply& reply);
    void refreshSoon();
    void refresh();
    void probeNextSeed();
    void onSlots(const RedisReply& reply, const QString& host);
    void applySlots(const QList<redisslots::SlotRange>& ranges);
    void placeSubscriptions(const QSet<QByteArray>& forceResend);
    void dropUnusedShards();
    void fail(Pending pending, const QString& why);
    void parkOrFail(Pending pending, const QString& why);
    void releaseParked(const QString& failure);
    void updateReady();

    const bool cluster_;
    QList<RedisUrl> seeds_;
    bool running_ = false;
    int initialBackoffMs_ = 100;
    int maxBackoffMs_ = 5000;

    std::vector<std::unique_ptr<Shard>> shards_;
    std::vector<Shard*> owners_;            // slot -> master (nullptr: unknown)
    QHash<QByteArray, Shard*> channelHome_; // sharded subscription -> where it is SSUBSCRIBE'd
    QSet<QByteArray> unsettled_;            // refused or dropped: subscribe again on the next map
    QSet<QByteArray> classicChannels_;
    QSet<QByteArray> classicPatterns_;
    Shard* classicHome_ = nullptr;

    QTimer refreshTimer_;     // the periodic check of the slot map
    QTimer refreshSoonTimer_; // coalesces the triggers of one moment into one CLUSTER SLOTS
    bool refreshing_ = false;
    bool refreshAgain_ = false;
    std::unique_ptr<RedisConnection> probe_; // a seed, asked while no master is reachable
    int probeIndex_ = 0;
    QString topologyError_;
    std::vector<Pending> parked_; // commands waiting for the next slot map
    bool ready_ = false;
};

struct RedisShards::Shard {
    Shard(const RedisUrl& url)
        : host(url.host)
        , port(url.port)
        , commands(url, QStringLiteral("commands"))
        , subscriber(url, QStringLiteral("subscriber")) {}
    QString host;
    quint16 port;
    RedisConnection commands;
    RedisConnection subscriber;
};

// A command on its way: where it goes, and how often it was redirected.
struct RedisShards::Pending {
    int slot = 0;
    QByteArrayList argv;
    RedisConnection::Reply done;
    int hops = 0;
    bool ask = false; // send ASKING first, to `host`:`port`
    QString host;     // set: go to this master instead of the slot's (a redirection)
    quint16 port = 0;
};

} // namespace herald
