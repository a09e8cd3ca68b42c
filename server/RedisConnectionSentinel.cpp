// The parts of RedisConnection that only Redis Sentinel uses (see SentinelResolver): an address
// asked for before each attempt, the ROLE check, and an immediate reconnect on a failover.

#include "server/RedisConnection.h"

#include <QPointer>

namespace herald {

void RedisConnection::nextAttempt() {
    if (!endpointSource_)
        return connectNow();
    // The question comes before the attempt: while it is out the connection is Disconnected,
    // and a newer question (reconnectNow) makes the answer to this one stale.
    const quint64 ask = ++endpointAsks_;
    endpointSource_([self = QPointer<RedisConnection>(this), ask](const Endpoint& where) {
        if (!self || !self->running_ || ask != self->endpointAsks_ ||
            self->state_ != State::Disconnected)
            return;
        if (const auto* error = std::get_if<QString>(&where))
            return self->fail(*error);
        self->url_.host = std::get<0>(where).first;
        self->url_.port = std::get<0>(where).second;
        self->connectNow();
    });
}

QString RedisConnection::notMaster(const RedisReply& role) const {
    // ROLE answers [master|slave|sentinel, ...].
    const QByteArray what =
        role.elements.empty() || role.elements[0].type != RedisReply::Type::String
            ? QByteArray("?")
            : role.elements[0].string;
    if (what == "master")
        return {};
    // A demoted master back from a crash, or a stale answer: writes must not go there.
    return QStringLiteral("%1 is a %2, asking sentinel again")
        .arg(url_.endpoint(),
             what == "slave" ? QStringLiteral("replica") : QString::fromUtf8(what));
}

void RedisConnection::reconnectNow(const QString& why) {
    if (!running_)
        return;
    if (state_ != State::Disconnected)
        fail(why);
    retryTimer_.stop();
    backoffMs_ = initialBackoffMs_;
    nextAttempt();
}

} // namespace herald
