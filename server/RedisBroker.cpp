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
    , url_(url)
    , prefix_(std::move(prefix))
    , subscriber_(url, QStringLiteral("subscriber"), this)
    , commands_(url, QStringLiteral("commands"), this) {
    // Bridged channels are fixed: subscribed for the broker's whole life.
    for (const auto& [channel, key] : bridges) {
        const QByteArray raw = channel.toUtf8();
        if (isPattern(raw)) {
            bridgePatterns_.insert(raw, key);
            subscriber_.psubscribe(raw);
        } else {
            bridgeChannels_.insert(raw, key);
            subscriber_.subscribe(raw);
        }
    }
    connect(&subscriber_, &RedisConnection::message, this, &RedisBroker::onMessage);
    connect(&subscriber_, &RedisConnection::subscriptionConfirmed, this,
            [this](const QByteArray& name, bool pattern) {
                if (!name.startsWith(prefix_))
                    return;
                const QString key = QString::fromUtf8(name.mid(prefix_.size()));
                if (keys_.contains(key) && isPattern(key.toUtf8()) == pattern)
                    Q_EMIT keyLive(key);
            });
    // Before anything else on a new connection: a Redis that restarted without its data has
    // lost the functions too, and every FCALL sent after this in the same pass finds them.
    connect(&commands_, &RedisConnection::ready, this, &RedisBroker::loadFunctions);
    for (RedisConnection* c : {&subscriber_, &commands_}) {
        connect(c, &RedisConnection::ready, this, &RedisBroker::updateReady);
        connect(c, &RedisConnection::down, this, &RedisBroker::updateReady);
    }
}

RedisBroker::~RedisBroker() = default;

void RedisBroker::start() {
    subscriber_.start();
    commands_.start();
}

void RedisBroker::stop() {
    subscriber_.stop();
    commands_.stop();
    updateReady();
}

QString RedisBroker::describe() const {
    return (url_.tls ? QStringLiteral("rediss ") : QStringLiteral("redis ")) + url_.endpoint();
}

QString RedisBroker::problem() const {
    for (const RedisConnection* c : {&commands_, &subscriber_})
        if (!c->isReady())
            return c->lastError().isEmpty() ? QStringLiteral("connecting") : c->lastError();
    return {};
}

void RedisBroker::subscribe(const QString& key) {
    if (keys_.contains(key))
        return; // callers count references; a second call must not disturb Redis
    keys_.insert(key);
    const QByteArray channel = prefix_ + key.toUtf8();
    if (isPattern(key.toUtf8()))
        subscriber_.psubscribe(channel);
    else
        subscriber_.subscribe(channel);
}

void RedisBroker::unsubscribe(const QString& key) {
    if (!keys_.remove(key))
        return;
    const QByteArray channel = prefix_ + key.toUtf8();
    // A bridge on the very same Redis name keeps it subscribed.
    if (isPattern(key.toUtf8())) {
        if (!bridgePatterns_.contains(channel))
            subscriber_.punsubscribe(channel);
    } else if (!bridgeChannels_.contains(channel)) {
        subscriber_.unsubscribe(channel);
    }
}

void RedisBroker::publish(const QString& key, const QByteArray& payload, PublishDone done) {
    if (!commands_.isReady()) {
        // Queued like every other answer, so callers never see done() inside publish().
        const QString why = commands_.lastError().isEmpty() ? QStringLiteral("not connected")
                                                            : commands_.lastError();
        QMetaObject::invokeMethod(
            this,
            [done = std::move(done), why] {
                if (done)
                    done(unavailable(why));
            },
            Qt::QueuedConnection);
        return;
    }
    commands_.command({"PUBLISH", prefix_ + key.toUtf8(), payload}, [done = std::move(done)](
                                                                        const RedisReply& r) {
        if (!done)
            return;
        if (r.type == RedisReply::Type::Integer)
            done(std::nullopt);
        else if (r.local)
            done(unavailable(r.errorText() +
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

void RedisBroker::loadFunctions() {
    commands_.command({"FUNCTION", "LOAD", "REPLACE", redishistory::library()},
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
    return keys_.contains(key) && subscriber_.isConfirmed(name, isPattern(key.toUtf8()));
}

void RedisBroker::publishKept(const QString& key, const Retention& retention,
                              const QByteArray& dataJson, const QString& origin, KeptDone done) {
    commands_.command(redishistory::publishCommand(prefix_, key, retention, dataJson, origin),
                      [done = std::move(done)](const RedisReply& r) {
                          done(redishistory::parsePublishReply(r));
                      });
}

void RedisBroker::readHistory(const QString& key, const QString& after, int limit, ReadDone done) {
    commands_.command(
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

void RedisBroker::updateReady() {
    const bool now = subscriber_.isReady() && commands_.isReady();
    if (now == ready_)
        return;
    ready_ = now;
    Q_EMIT readyChanged(now);
}

} // namespace herald
