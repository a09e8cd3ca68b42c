#include "server/StickyNotices.h"

#include "server/Broker.h"
#include "server/Hub.h"
#include "server/RedisShards.h"
#include "shared/Codec.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>
#include <QTimer>

Q_LOGGING_CATEGORY(lcSticky, "herald.sticky")

namespace herald {
namespace {
Frame frameFor(const StickyNotice& n) {
    return Frame::text(codec::encode(SystemEvent{n.id, n.notice, n.expiresAtMs}));
}
Error unavailable(const QString& why) {
    return {ErrorCode::Unavailable, QStringLiteral("the sticky notices cannot be stored: ") + why};
}
} // namespace

StickyNotices::StickyNotices(QString selfId, Hub& hub, Broker& broker, RedisShards* redis,
                             QByteArray key, QObject* parent)
    : QObject(parent)
    , selfId_(std::move(selfId))
    , hub_(hub)
    , broker_(broker)
    , redis_(redis)
    , key_(std::move(key)) {
    expiry_.setSingleShot(true);
    expiry_.setTimerType(Qt::PreciseTimer);
    connect(&expiry_, &QTimer::timeout, this, &StickyNotices::expire);
    // Emitted right after the welcome, before the connection's first frame is read: the notices
    // follow the welcome at once.
    connect(&hub_, &Hub::sessionAttached, this, &StickyNotices::onAttached);
    // Every (re)connect to Redis: what was added or withdrawn meanwhile is in the hash.
    if (redis_)
        connect(&broker_, &Broker::readyChanged, this, [this](bool ready) {
            if (ready)
                load();
        });
}

qint64 StickyNotices::nowMs() const {
    return QDateTime::currentMSecsSinceEpoch();
}

std::optional<Error> StickyNotices::refusal() const {
    if (store_.size() < codec::kMaxStickyNotices)
        return std::nullopt;
    return Error{ErrorCode::BadRequest,
                 QStringLiteral("%1 sticky notices are active, the most there may be: withdraw one "
                                "first")
                     .arg(codec::kMaxStickyNotices)};
}

void StickyNotices::announce(const cluster::ControlMessage& message, Done done) {
    broker_.publish(cluster::kControlKey, cluster::encode(message),
                    [done = std::move(done)](std::optional<Error> error) {
                        if (done)
                            done(error);
                    });
}

void StickyNotices::publish(const cluster::AdminBroadcast& b, Done done) {
    if (auto error = refusal()) {
        QTimer::singleShot(0, this, [done, error] { done(error); });
        return;
    }
    if (!redis_)
        return announce(b, std::move(done));
    // Stored first: a node that reads the hash after this has it; one that read it before is
    // subscribed already and gets the announcement (a copy from both is recognised by its id).
    const StickyNotice n{b.messageId, b.notice, b.expiresAtMs};
    QPointer<StickyNotices> self(this);
    redis_->command(key_, {"HSET", key_, b.messageId.toUtf8(), frameFor(n).payload().toByteArray()},
                    [self, b, done = std::move(done)](const RedisReply& reply) {
                        if (!self)
                            return;
                        if (reply.isError())
                            return done(unavailable(reply.errorText()));
                        self->announce(b, done);
                    });
}

void StickyNotices::withdraw(const QString& id, Done done) {
    if (!store_.contains(id)) {
        const Error error{ErrorCode::NotFound,
                          QStringLiteral("no active sticky notice \"%1\"").arg(id.left(64))};
        QTimer::singleShot(0, this, [done, error] { done(error); });
        return;
    }
    const cluster::StickyWithdraw order{id, selfId_};
    if (!redis_)
        return announce(order, std::move(done));
    QPointer<StickyNotices> self(this);
    redis_->command(key_, {"HDEL", key_, id.toUtf8()},
                    [self, order, done = std::move(done)](const RedisReply& reply) {
                        if (!self)
                            return;
                        if (reply.isError())
                            return done(unavailable(reply.errorText()));
                        self->announce(order, done);
                    });
}

bool StickyNotices::remember(const cluster::AdminBroadcast& b) {
    const StickyNotice n{b.messageId, b.notice, b.expiresAtMs};
    if (!store_.add(n, nowMs()))
        return false;
    frames_.insert(n.id, frameFor(n));
    armTimer();
    Q_EMIT changed();
    return true;
}

void StickyNotices::forget(const QString& id) {
    if (!store_.withdraw(id, nowMs()))
        return;
    frames_.remove(id);
    sendWithdrawn(id);
    armTimer();
    Q_EMIT changed();
}

void StickyNotices::sendWithdrawn(const QString& id) {
    hub_.sendWhere([](const Session&) { return true; },
                   Frame::text(codec::encode(WithdrawnEvent{id})));
}

void StickyNotices::onAttached(quint64 sessionId) {
    if (frames_.isEmpty())
        return;
    Session* s = hub_.session(sessionId);
    if (!s || s->identity().role == Identity::Role::Admin)
        return;
    const qint64 now = nowMs();
    for (const StickyNotice& n : store_.active())
        if (n.expiresAtMs > now) // the timer may be a little late
            s->send(frames_.value(n.id));
}

void StickyNotices::load() {
    const quint64 generation = store_.beginLoad();
    QPointer<StickyNotices> self(this);
    redis_->command(key_, {"HGETALL", key_}, [self, generation](const RedisReply& reply) {
        if (!self)
            return;
        if (reply.isError()) {
            qCWarning(lcSticky).noquote() << "cannot read the sticky notices:" << reply.errorText();
            return;
        }
        QList<StickyNotice> shared;
        QByteArrayList lapsed;
        const qint64 now = self->nowMs();
        for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
            const QByteArray& field = reply.elements[i].string;
            // Anyone with access to Redis can write there: only well-formed notices count.
            const auto decoded = codec::decodeServerMessage(reply.elements[i + 1].string);
            const auto* event = std::get_if<ServerMessage>(&decoded);
            const auto* system = event ? std::get_if<SystemEvent>(event) : nullptr;
            if (!system || system->id.toUtf8() != field || system->expiresAtMs <= 0) {
                qCWarning(lcSticky).noquote() << "ignored a malformed sticky notice" << field;
                continue;
            }
            if (system->expiresAtMs <= now)
                lapsed.append(field);
            else
                shared.append({system->id, system->notice, system->expiresAtMs});
        }
        if (!lapsed.isEmpty()) // tidied by whichever node sees them first
            self->redis_->command(self->key_, QByteArrayList{"HDEL", self->key_} + lapsed);
        self->onLoaded(shared, generation);
    });
}

void StickyNotices::onLoaded(const QList<StickyNotice>& shared, quint64 load) {
    const StickyStore::Merge merge = store_.merge(shared, load, nowMs());
    if (merge.added.isEmpty() && merge.gone.isEmpty())
        return;
    // Open connections missed these while this node was cut off: they get them now.
    for (const StickyNotice& n : merge.added) {
        frames_.insert(n.id, frameFor(n));
        hub_.sendWhere([](const Session&) { return true; }, frames_.value(n.id));
    }
    for (const StickyNotice& n : merge.gone) {
        frames_.remove(n.id);
        if (n.expiresAtMs > nowMs())
            sendWithdrawn(n.id);
    }
    qCInfo(lcSticky) << "sticky notices read from redis:" << merge.added.size() << "new,"
                     << merge.gone.size() << "gone," << store_.size() << "active";
    armTimer();
    Q_EMIT changed();
}

void StickyNotices::armTimer() {
    if (const auto next = store_.nextExpiryMs())
        expiry_.start(static_cast<int>(std::clamp<qint64>(*next - nowMs(), 0, 24 * 3600 * 1000)));
    else
        expiry_.stop();
}

void StickyNotices::expire() {
    const QList<StickyNotice> lapsed = store_.takeExpired(nowMs());
    QByteArrayList ids;
    for (const StickyNotice& n : lapsed) {
        frames_.remove(n.id);
        ids.append(n.id.toUtf8());
    }
    // Every node tidies the hash; a second HDEL of the same field does nothing.
    if (redis_ && !ids.isEmpty())
        redis_->command(key_, QByteArrayList{"HDEL", key_} + ids);
    armTimer();
    if (!lapsed.isEmpty())
        Q_EMIT changed();
}

} // namespace herald
