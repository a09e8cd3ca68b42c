// RedisShards: the slot map of a Redis Cluster, and where each subscription lives.
#include "server/RedisShards.h"

#include <QTimer>

namespace herald {
namespace {

constexpr int kRefreshSoonMs = 100;      // triggers of one moment share one CLUSTER SLOTS
constexpr int kRefreshUnhealthyMs = 500; // again and again while a master is unreachable
constexpr int kProbeTimeoutMs = 3000;    // a seed that does not answer by then: the next one

} // namespace

bool RedisShards::isClusterUrl(const QString& url) {
    return url.startsWith(QLatin1String("redis-cluster://")) ||
           url.startsWith(QLatin1String("rediss-cluster://"));
}

std::variant<QList<RedisUrl>, QString> RedisShards::parseClusterUrl(const QString& url) {
    if (!isClusterUrl(url))
        return QStringLiteral("a Redis Cluster URL starts with redis-cluster:// or "
                              "rediss-cluster://");
    const bool tls = url.startsWith(QLatin1String("rediss"));
    const QString rest = url.mid(url.indexOf(QLatin1String("://")) + 3);
    // [userinfo@]host:port,host:port[/0][?options]: each seed becomes a redis:// URL of its own.
    const qsizetype query = rest.indexOf(QLatin1Char('?'));
    const qsizetype at = rest.lastIndexOf(QLatin1Char('@'), query < 0 ? -1 : query);
    const QString userinfo = at < 0 ? QString() : rest.left(at + 1);
    const QString afterUser = rest.mid(at + 1);
    qsizetype hostsEnd = afterUser.size();
    for (const QChar c : {QLatin1Char('/'), QLatin1Char('?')})
        if (const qsizetype i = afterUser.indexOf(c); i >= 0)
            hostsEnd = std::min(hostsEnd, i);
    const QString tail = afterUser.mid(hostsEnd);
    QList<RedisUrl> seeds;
    for (const QString& host : afterUser.left(hostsEnd).split(QLatin1Char(','))) {
        if (host.trimmed().isEmpty())
            return QStringLiteral("empty seed in \"%1\" (host:port,host:port)")
                .arg(afterUser.left(hostsEnd));
        auto one =
            RedisUrl::parse((tls ? QStringLiteral("rediss://") : QStringLiteral("redis://")) +
                            userinfo + host.trimmed() + tail);
        if (const auto* error = std::get_if<QString>(&one))
            return QStringLiteral("seed %1: %2").arg(host.trimmed(), *error);
        if (std::get<RedisUrl>(one).db != 0)
            return QStringLiteral("a Redis Cluster has only database 0");
        seeds.append(std::get<RedisUrl>(one));
    }
    return seeds;
}

// --- subscriptions ----------------------------------------------------------------------------

void RedisShards::subscribe(const QByteArray& channel) {
    if (!cluster_) {
        shards_.front()->subscriber.subscribe(channel);
        return;
    }
    if (channelHome_.contains(channel))
        return;
    Shard* home = owner(redisslots::keySlot(channel));
    channelHome_.insert(channel, home);
    if (home)
        home->subscriber.ssubscribe(channel);
    else
        refreshSoon(); // placed when the map names its master
}

void RedisShards::unsubscribe(const QByteArray& channel) {
    if (!cluster_) {
        shards_.front()->subscriber.unsubscribe(channel);
        return;
    }
    const auto it = channelHome_.find(channel);
    if (it == channelHome_.end())
        return;
    if (Shard* home = it.value())
        home->subscriber.sunsubscribe(channel);
    channelHome_.erase(it);
    unsettled_.remove(channel);
}

void RedisShards::subscribeClassic(const QByteArray& name, bool pattern) {
    (pattern ? classicPatterns_ : classicChannels_).insert(name);
    if (!classicHome_)
        return; // placed with the first map
    if (pattern)
        classicHome_->subscriber.psubscribe(name);
    else
        classicHome_->subscriber.subscribe(name);
}

void RedisShards::unsubscribeClassic(const QByteArray& name, bool pattern) {
    (pattern ? classicPatterns_ : classicChannels_).remove(name);
    if (!classicHome_)
        return;
    if (pattern)
        classicHome_->subscriber.punsubscribe(name);
    else
        classicHome_->subscriber.unsubscribe(name);
}

bool RedisShards::isConfirmed(const QByteArray& channel) const {
    if (!cluster_)
        return shards_.front()->subscriber.isConfirmed(channel, false);
    const Shard* home = channelHome_.value(channel);
    return home && home->subscriber.isShardConfirmed(channel);
}

bool RedisShards::isClassicConfirmed(const QByteArray& name, bool pattern) const {
    return classicHome_ && classicHome_->subscriber.isConfirmed(name, pattern);
}

void RedisShards::placeSubscriptions(const QSet<QByteArray>& forceResend) {
    for (auto it = channelHome_.begin(); it != channelHome_.end(); ++it) {
        Shard* want = owner(redisslots::keySlot(it.key()));
        Shard* have = it.value();
        if (want == have && !forceResend.contains(it.key()))
            continue;
        // Moved (or refused, or dropped by Redis): subscribe where the slot is served now. The
        // confirmation makes the broker report the key live again, and the stream's gap is
        // then read from history.
        if (have)
            have->subscriber.sunsubscribe(it.key());
        if (want)
            want->subscriber.ssubscribe(it.key());
        it.value() = want;
    }
    Shard* classic = owner(0);
    if (classic == classicHome_ || !classic)
        return;
    for (const QByteArray& name : std::as_const(classicChannels_)) {
        if (classicHome_)
            classicHome_->subscriber.unsubscribe(name);
        classic->subscriber.subscribe(name);
    }
    for (const QByteArray& name : std::as_const(classicPatterns_)) {
        if (classicHome_)
            classicHome_->subscriber.punsubscribe(name);
        classic->subscriber.psubscribe(name);
    }
    classicHome_ = classic;
}

// --- the slot map -----------------------------------------------------------------------------

void RedisShards::refreshSoon() {
    if (cluster_ && running_ && !refreshSoonTimer_.isActive())
        refreshSoonTimer_.start(kRefreshSoonMs);
}

void RedisShards::refresh() {
    if (!cluster_ || !running_)
        return;
    if (refreshing_) {
        refreshAgain_ = true;
        return;
    }
    refreshing_ = true;
    // Any master that answers knows the whole map; a seed is asked only when none does.
    for (const auto& s : shards_) {
        if (!s->commands.isReady())
            continue;
        const QString host = s->host;
        s->commands.command({"CLUSTER", "SLOTS"},
                            [this, host](const RedisReply& r) { onSlots(r, host); });
        return;
    }
    probeNextSeed();
}

void RedisShards::probeNextSeed() {
    // The seeds first, then every master seen since (the seeds may all be gone by now).
    QList<RedisUrl> candidates = seeds_;
    for (const auto& s : shards_) {
        RedisUrl u = seeds_.front();
        u.host = s->host;
        u.port = s->port;
        candidates.append(u);
    }
    const RedisUrl url = candidates[probeIndex_++ % candidates.size()];
    probe_ = std::make_unique<RedisConnection>(url, QStringLiteral("cluster seed"));
    probe_->setConnectTimeout(kProbeTimeoutMs);
    RedisConnection* probe = probe_.get();
    connect(probe, &RedisConnection::ready, this, [this, probe, host = url.host] {
        probe->command({"CLUSTER", "SLOTS"},
                       [this, host](const RedisReply& r) { onSlots(r, host); });
    });
    connect(probe, &RedisConnection::down, this, [this, probe](const QString& reason) {
        if (probe != probe_.get())
            return;
        topologyError_ = reason;
        // Deleted on the next pass: this runs inside one of its own queued calls.
        QTimer::singleShot(0, this,
                           [dead = std::shared_ptr<RedisConnection>(std::move(probe_))] {});
        refreshing_ = false;
        releaseParked(QStringLiteral("no cluster node reachable: ") + reason);
        refreshSoonTimer_.start(kRefreshUnhealthyMs);
    });
    probe->start();
}

void RedisShards::onSlots(const RedisReply& reply, const QString& host) {
    if (!running_)
        return;
    refreshing_ = false;
    if (probe_)
        QTimer::singleShot(0, this,
                           [done = std::shared_ptr<RedisConnection>(std::move(probe_))] {});
    if (reply.local) { // the master asked went away meanwhile: ask another one
        refreshSoonTimer_.start(kRefreshSoonMs);
        return;
    }
    auto parsed = redisslots::parseClusterSlots(reply, host);
    if (const auto* error = std::get_if<QString>(&parsed)) {
        topologyError_ = *error;
        qCWarning(lcRedis).noquote() << "redis cluster:" << *error;
        releaseParked(*error);
    } else {
        topologyError_.clear();
        applySlots(std::get<QList<redisslots::SlotRange>>(parsed));
        releaseParked({});
    }
    if (std::exchange(refreshAgain_, false) || !isReady())
        refreshSoonTimer_.start(isReady() ? kRefreshSoonMs : kRefreshUnhealthyMs);
}

void RedisShards::applySlots(const QList<redisslots::SlotRange>& ranges) {
    std::vector<Shard*> owners(redisslots::kSlotCount, nullptr);
    for (const redisslots::SlotRange& r : ranges) {
        Shard* s = shardAt(r.host, r.port);
        if (!s) {
            qCInfo(lcRedis).noquote()
                << "redis cluster: master" << redisslots::endpointOf(r.host, r.port) << "serves"
                << QStringLiteral("slots %1-%2").arg(r.first).arg(r.last);
            addShardFor(r.host, r.port);
            s = shards_.back().get();
        }
        std::fill(owners.begin() + r.first, owners.begin() + r.last + 1, s);
    }
    int moved = 0;
    for (size_t slot = 0; slot < owners.size(); ++slot)
        moved += owners[slot] != owners_[slot];
    const bool changed = moved > 0;
    if (changed && !std::all_of(owners_.begin(), owners_.end(), [](Shard* s) { return !s; }))
        qCInfo(lcRedis).noquote()
            << QStringLiteral("redis cluster: slot map changed, %1 slot(s) served elsewhere now")
                   .arg(moved);
    owners_ = std::move(owners);
    if (changed || !unsettled_.isEmpty())
        placeSubscriptions(std::exchange(unsettled_, {}));
    dropUnusedShards();
    updateReady();
}

void RedisShards::dropUnusedShards() {
    for (auto it = shards_.begin(); it != shards_.end();) {
        Shard* s = it->get();
        const bool used =
            s == classicHome_ || std::find(owners_.begin(), owners_.end(), s) != owners_.end();
        if (used) {
            ++it;
            continue;
        }
        // No slot is served there any more (a failed-over master, a removed node). Commands
        // still on its wire are answered with an error; it goes on the next pass, since this
        // may run inside one of its own reply callbacks.
        qCInfo(lcRedis).noquote() << "redis cluster:" << redisslots::endpointOf(s->host, s->port)
                                  << "serves no slot any more; disconnecting";
        for (RedisConnection* c : {&s->commands, &s->subscriber}) {
            c->disconnect(this);
            c->stop();
        }
        QTimer::singleShot(0, this, [gone = std::shared_ptr<Shard>(std::move(*it))] {});
        it = shards_.erase(it);
    }
}

} // namespace herald
