#include "server/RedisShards.h"

#include <QMetaObject>

namespace herald {
namespace {

constexpr int kMaxRedirects = 5;         // MOVED/ASK hops for one command before giving up
constexpr int kMaxParked = 100'000;      // commands waiting for a slot map, at most
constexpr int kRefreshIntervalMs = 5000; // the map is checked this often when all is well

using redisslots::endpointOf;

} // namespace

RedisShards::RedisShards(RedisUrl url, QObject* parent)
    : QObject(parent)
    , cluster_(false)
    , seeds_{url}
    , owners_(redisslots::kSlotCount, nullptr) {
    addShardFor(url.host, url.port);
    std::fill(owners_.begin(), owners_.end(), shards_.front().get());
    classicHome_ = shards_.front().get();
}

RedisShards::RedisShards(QList<RedisUrl> seeds, QObject* parent)
    : QObject(parent)
    , cluster_(true)
    , seeds_(std::move(seeds))
    , owners_(redisslots::kSlotCount, nullptr) {
    Q_ASSERT(!seeds_.isEmpty());
    refreshTimer_.setInterval(kRefreshIntervalMs);
    connect(&refreshTimer_, &QTimer::timeout, this, &RedisShards::refresh);
    refreshSoonTimer_.setSingleShot(true);
    connect(&refreshSoonTimer_, &QTimer::timeout, this, &RedisShards::refresh);
}

RedisShards::~RedisShards() {
    running_ = false;
    // Callbacks of waiting commands may point at their owners; those go away with us.
    parked_.clear();
}

void RedisShards::start() {
    if (running_)
        return;
    running_ = true;
    for (auto& s : shards_) {
        s->subscriber.start();
        s->commands.start();
    }
    if (cluster_) {
        refreshTimer_.start();
        refresh();
    }
}

void RedisShards::stop() {
    running_ = false;
    refreshTimer_.stop();
    refreshSoonTimer_.stop();
    probe_.reset();
    refreshing_ = false;
    for (auto& s : shards_) {
        s->subscriber.stop();
        s->commands.stop();
    }
    releaseParked(QStringLiteral("redis connection stopped"));
    updateReady();
}

void RedisShards::setBackoff(int initialMs, int maxMs) {
    initialBackoffMs_ = initialMs;
    maxBackoffMs_ = maxMs;
    for (auto& s : shards_) {
        s->commands.setBackoff(initialMs, maxMs);
        s->subscriber.setBackoff(initialMs, maxMs);
    }
}

RedisConnection& RedisShards::singleCommands() {
    Q_ASSERT(!cluster_);
    return shards_.front()->commands;
}

RedisConnection& RedisShards::singleSubscriber() {
    Q_ASSERT(!cluster_);
    return shards_.front()->subscriber;
}

RedisShards::Shard* RedisShards::shardAt(const QString& host, quint16 port) const {
    for (const auto& s : shards_)
        if (s->port == port && s->host == host)
            return s.get();
    return nullptr;
}

void RedisShards::addShardFor(const QString& host, quint16 port) {
    RedisUrl url = seeds_.front();
    url.host = host;
    url.port = port;
    auto owned = std::make_unique<Shard>(url);
    Shard* s = owned.get();
    shards_.push_back(std::move(owned));
    for (RedisConnection* c : {&s->commands, &s->subscriber}) {
        c->setBackoff(initialBackoffMs_, maxBackoffMs_);
        connect(c, &RedisConnection::ready, this, &RedisShards::updateReady);
        connect(c, &RedisConnection::down, this, [this] {
            updateReady();
            // A master that went away may have been replaced: ask who serves its slots now.
            if (cluster_)
                refreshSoon();
        });
    }
    connect(&s->commands, &RedisConnection::ready, this,
            [this, s] { Q_EMIT masterReady(s->commands); });
    connect(&s->subscriber, &RedisConnection::message, this, &RedisShards::message);
    connect(&s->subscriber, &RedisConnection::subscriptionConfirmed, this,
            &RedisShards::subscriptionConfirmed);
    connect(&s->subscriber, &RedisConnection::shardSubscriptionConfirmed, this,
            [this, s](const QByteArray& channel) {
                if (channelHome_.value(channel) == s)
                    Q_EMIT subscriptionConfirmed(channel, false);
            });
    connect(&s->subscriber, &RedisConnection::shardSubscriptionLost, this,
            [this](const QByteArray& channel) {
                unsettled_.insert(channel);
                refreshSoon();
            });
    connect(&s->subscriber, &RedisConnection::subscriptionRefused, this,
            [this, s](const QString& error) {
                const auto redirect = redisslots::parseRedirect(error.toUtf8());
                if (!redirect) {
                    qCWarning(lcRedis).noquote() << "redis" << endpointOf(s->host, s->port)
                                                 << "refused a subscription:" << error;
                    return;
                }
                for (auto it = channelHome_.cbegin(); it != channelHome_.cend(); ++it)
                    if (it.value() == s && redisslots::keySlot(it.key()) == redirect->slot)
                        unsettled_.insert(it.key());
                refreshSoon();
            });
    if (running_) {
        s->subscriber.start();
        s->commands.start();
    }
}

bool RedisShards::isReady() const {
    if (!running_)
        return false;
    for (const Shard* s : owners_)
        if (!s)
            return false;
    for (const auto& s : shards_)
        if (!s->commands.isReady() || !s->subscriber.isReady())
            return false;
    return !shards_.empty();
}

void RedisShards::updateReady() {
    const bool now = isReady();
    if (now == ready_)
        return;
    ready_ = now;
    Q_EMIT readyChanged(now);
}

QString RedisShards::describe() const {
    const QString scheme = seeds_.front().tls ? QStringLiteral("rediss") : QStringLiteral("redis");
    if (!cluster_)
        return scheme + QLatin1Char(' ') + seeds_.front().endpoint();
    QStringList seeds;
    for (const RedisUrl& u : seeds_)
        seeds.append(endpointOf(u.host, u.port));
    return scheme + QStringLiteral("-cluster ") + seeds.join(QLatin1Char(',')) +
           QStringLiteral(" (%1 masters)").arg(shards_.size());
}

QString RedisShards::problem() const {
    for (const auto& s : shards_)
        for (const RedisConnection* c : {&s->commands, &s->subscriber})
            if (!c->isReady())
                return (cluster_ ? endpointOf(s->host, s->port) + QStringLiteral(": ")
                                 : QString()) +
                       (c->lastError().isEmpty() ? QStringLiteral("connecting") : c->lastError());
    if (cluster_) {
        const auto missing = std::count(owners_.begin(), owners_.end(), nullptr);
        if (missing > 0)
            return QStringLiteral("%1 of %2 slots have no master known%3")
                .arg(missing)
                .arg(redisslots::kSlotCount)
                .arg(topologyError_.isEmpty() ? QString() : QStringLiteral(": ") + topologyError_);
    }
    return {};
}

// --- commands ---------------------------------------------------------------------------------

void RedisShards::command(QByteArrayView key, const QByteArrayList& argv,
                          RedisConnection::Reply done) {
    Pending p;
    p.slot = cluster_ ? redisslots::keySlot(key) : 0;
    p.argv = argv;
    p.done = std::move(done);
    route(std::move(p));
}

void RedisShards::route(Pending p) {
    Shard* s = p.host.isEmpty() ? owner(p.slot) : shardAt(p.host, p.port);
    if (!s)
        return parkOrFail(std::move(p), QStringLiteral("no master known for slot %1").arg(p.slot));
    if (p.ask)
        s->commands.command({"ASKING"});
    RedisConnection::Reply onDone = [this, p](const RedisReply& reply) mutable {
        onReply(std::move(p), reply);
    };
    s->commands.command(p.argv, std::move(onDone));
}

void RedisShards::onReply(Pending p, const RedisReply& reply) {
    if (cluster_ && reply.isError()) {
        const auto redirect = reply.local ? std::nullopt : redisslots::parseRedirect(reply.string);
        if (redirect && p.hops < kMaxRedirects) {
            // MOVED: the slot has a new master for good, so the map is stale. ASK: one command
            // goes to the node importing the slot while it migrates.
            if (!redirect->ask)
                refreshSoon();
            ++p.hops;
            p.ask = redirect->ask;
            p.host = redirect->host;
            p.port = redirect->port;
            if (shardAt(p.host, p.port))
                return route(std::move(p));
            // A master the map does not know yet: wait for the next map and route by slot.
            p.ask = false;
            p.host.clear();
            return parkOrFail(std::move(p), QString::fromUtf8(reply.string));
        }
        // A lost connection, a demoted master (READONLY) or a cluster that is failing over:
        // the answer stands (the command may have run), but the map may have changed.
        if (reply.local || reply.string.startsWith("READONLY") ||
            reply.string.startsWith("CLUSTERDOWN"))
            refreshSoon();
    }
    if (p.done)
        p.done(reply);
}

void RedisShards::fail(Pending p, const QString& why) {
    // On a later pass, as RedisConnection answers: callers never see done() inside command().
    QMetaObject::invokeMethod(
        this,
        [done = std::move(p.done), why] {
            if (done)
                done(RedisReply::localError(QStringLiteral("redis cluster: ") + why));
        },
        Qt::QueuedConnection);
}

void RedisShards::parkOrFail(Pending p, const QString& why) {
    if (!cluster_ || !running_ || parked_.size() >= size_t(kMaxParked))
        return fail(std::move(p), why);
    p.ask = false; // once the map is new, the command goes where its slot is
    p.host.clear();
    parked_.push_back(std::move(p));
    refreshSoon();
}

void RedisShards::releaseParked(const QString& failure) {
    std::vector<Pending> parked = std::exchange(parked_, {});
    for (Pending& p : parked) {
        if (failure.isEmpty() && owner(p.slot)) {
            route(std::move(p));
        } else {
            fail(std::move(p), failure.isEmpty()
                                   ? QStringLiteral("no master known for slot %1").arg(p.slot)
                                   : failure);
        }
    }
}

} // namespace herald
