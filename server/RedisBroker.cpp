#include "server/RedisBroker.h"

#include "server/RedisHistory.h"
#include "shared/Streams.h"

#include <QMetaObject>
#include <QRegularExpression>

namespace herald {
namespace {

// Redis glob characters: such a name needs PSUBSCRIBE.
bool isPattern(QByteArrayView name) {
    return name.contains('*') || name.contains('?') || name.contains('[');
}

Error unavailable(const QString& why) {
    return Error{ErrorCode::Unavailable, QStringLiteral("redis unreachable: ") + why};
}

} // namespace

std::variant<QList<QPair<QString, QString>>, QString> parseBridges(const QString& spec) {
    static const QRegularExpression blank(QStringLiteral("\\s"));
    QList<QPair<QString, QString>> out;
    QSet<QString> seen;
    for (const QString& part : spec.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString item = part.trimmed();
        if (item.isEmpty())
            continue;
        // Routing keys never contain '=', so the last one separates even odd raw channel names.
        const qsizetype eq = item.lastIndexOf(QLatin1Char('='));
        const QString channel = item.left(std::max<qsizetype>(eq, 0)).trimmed();
        const QString key = item.mid(eq + 1).trimmed();
        if (eq < 0 || channel.isEmpty() || key.isEmpty())
            return QStringLiteral("bridge \"%1\" must look like raw-channel=routing.key").arg(item);
        if (channel.contains(blank))
            return QStringLiteral("bridge channel \"%1\" must not contain spaces").arg(channel);
        if (!streams::parseRoutingKey(key))
            return QStringLiteral("bridge \"%1\": \"%2\" is not a routing key (public.<stream>, "
                                  "private.<user>.<stream> or system)")
                .arg(item, key);
        if (seen.contains(channel))
            return QStringLiteral("bridge channel \"%1\" is listed twice").arg(channel);
        seen.insert(channel);
        out.append({channel, key});
    }
    return out;
}

RedisBroker::RedisBroker(RedisUrl url, QByteArray prefix, QList<QPair<QString, QString>> bridges,
                         QObject* parent)
    : Broker(parent)
    , prefix_(std::move(prefix))
    , shards_(std::make_unique<RedisShards>(std::move(url), this)) {
    init(std::move(bridges));
}

RedisBroker::RedisBroker(QList<RedisUrl> clusterSeeds, QByteArray prefix,
                         QList<QPair<QString, QString>> bridges, QObject* parent)
    : Broker(parent)
    , prefix_(std::move(prefix))
    , shards_(std::make_unique<RedisShards>(std::move(clusterSeeds), this)) {
    init(std::move(bridges));
}

void RedisBroker::init(QList<QPair<QString, QString>> bridges) {
    // Bridged channels are fixed: subscribed for the broker's whole life. Producers publish
    // there with a plain PUBLISH, which on a Redis Cluster reaches every node.
    for (const auto& [channel, key] : bridges) {
        const QByteArray raw = channel.toUtf8();
        const bool pattern = isPattern(raw);
        (pattern ? bridgePatterns_ : bridgeChannels_).insert(raw, key);
        shards_->subscribeClassic(raw, pattern);
    }
    connect(shards_.get(), &RedisShards::message, this, &RedisBroker::onMessage);
    connect(shards_.get(), &RedisShards::subscriptionConfirmed, this,
            [this](const QByteArray& name, bool pattern) {
                if (!name.startsWith(prefix_))
                    return;
                const QString key = QString::fromUtf8(name.mid(prefix_.size()));
                if (keys_.contains(key) && isPattern(key.toUtf8()) == pattern)
                    Q_EMIT keyLive(key);
            });
    // Before anything else on a new connection: a Redis that restarted without its data has
    // lost the functions too, and every FCALL sent after this in the same pass finds them.
    // In a cluster every master needs them (functions are not shared across shards).
    connect(shards_.get(), &RedisShards::masterReady, this, &RedisBroker::loadFunctions);
    connect(shards_.get(), &RedisShards::readyChanged, this, &RedisBroker::readyChanged);
}

RedisBroker::~RedisBroker() = default;

void RedisBroker::start() {
    shards_->start();
}

void RedisBroker::stop() {
    shards_->stop();
}

void RedisBroker::subscribe(const QString& key) {
    if (keys_.contains(key))
        return; // callers count references; a second call must not disturb Redis
    keys_.insert(key);
    const QByteArray channel = prefix_ + key.toUtf8();
    // A pattern cannot be sharded: it stays a classic PSUBSCRIBE (cluster-wide).
    if (isPattern(key.toUtf8()))
        shards_->subscribeClassic(channel, true);
    else
        shards_->subscribe(channel);
}

void RedisBroker::unsubscribe(const QString& key) {
    if (!keys_.remove(key))
        return;
    const QByteArray channel = prefix_ + key.toUtf8();
    if (isPattern(key.toUtf8())) {
        // A bridge on the very same Redis name keeps it subscribed.
        if (!bridgePatterns_.contains(channel))
            shards_->unsubscribeClassic(channel, true);
    } else if (shards_->isCluster() || !bridgeChannels_.contains(channel)) {
        shards_->unsubscribe(channel);
    }
}

void RedisBroker::publish(const QString& key, const QByteArray& payload, PublishDone done) {
    // The command is answered on a later pass in every case (RedisConnection never answers
    // inside command()), so callers never see done() inside publish().
    const QByteArray channel = prefix_ + key.toUtf8();
    shards_->command(
        channel, {shards_->publishVerb(), channel, payload},
        [done = std::move(done)](const RedisReply& r) {
            if (!done)
                return;
            if (r.type == RedisReply::Type::Integer)
                done(std::nullopt);
            else if (r.local)
                done(unavailable(
                    r.errorText() +
                    (r.maybeExecuted
                         ? QStringLiteral(" after the publish was sent; it may still be "
                                          "delivered")
                         : QString())));
            else
                done(Error{ErrorCode::Unavailable,
                           QStringLiteral("redis refused the publish: ") +
                               (r.isError() ? r.errorText() : QStringLiteral("unexpected reply"))});
        });
}

void RedisBroker::loadFunctions(RedisConnection& commands) {
    commands.command({"FUNCTION", "LOAD", "REPLACE", redishistory::library()},
                     [](const RedisReply& r) {
                         if (r.isError() && !r.local)
                             qCWarning(lcRedis).noquote()
                                 << "cannot load Herald's Redis functions (history needs Redis "
                                    "7.0 or later):"
                                 << r.errorText();
                     });
}

bool RedisBroker::isLive(const QString& key) const {
    const QByteArray name = prefix_ + key.toUtf8();
    if (!keys_.contains(key))
        return false;
    return isPattern(key.toUtf8()) ? shards_->isClassicConfirmed(name, true)
                                   : shards_->isConfirmed(name);
}

void RedisBroker::publishKept(const QString& key, const Retention& retention,
                              const QByteArray& dataJson, const QString& origin, KeptDone done) {
    const QByteArray historyKey = redishistory::historyKey(prefix_, key);
    shards_->command(historyKey,
                     redishistory::publishCommand(prefix_, key, retention, dataJson, origin,
                                                  shards_->isCluster()),
                     [done = std::move(done)](const RedisReply& r) {
                         done(redishistory::parsePublishReply(r));
                     });
}

void RedisBroker::readHistory(const QString& key, const QString& after, int limit, ReadDone done) {
    shards_->command(
        redishistory::historyKey(prefix_, key),
        redishistory::readCommand(prefix_, key, after, limit),
        [done = std::move(done)](const RedisReply& r) { done(redishistory::parseReadReply(r)); });
}

void RedisBroker::onMessage(const QByteArray& channel, const QByteArray& payload,
                            const QByteArray& pattern) {
    // A bridge and a key may share one Redis name; each emits once, under its own key.
    const QByteArray& name = pattern.isEmpty() ? channel : pattern;
    const auto& bridges = pattern.isEmpty() ? bridgeChannels_ : bridgePatterns_;
    if (const auto it = bridges.constFind(name); it != bridges.constEnd())
        deliver(it.value(), payload);
    if (!name.startsWith(prefix_))
        return;
    const QString key = QString::fromUtf8(name.mid(prefix_.size()));
    if (keys_.contains(key) && isPattern(key.toUtf8()) == !pattern.isEmpty())
        deliver(key, payload);
}

} // namespace herald
