#include "server/Hub.h"

#include "shared/Limits.h"
#include "shared/Version.h"

#include <QDateTime>
#include <algorithm>

namespace herald {

Hub::Hub(const Config& config, QString nodeId, Broker& broker, Metrics& metrics, QObject* parent)
    : QObject(parent)
    , config_(config)
    , nodeId_(std::move(nodeId))
    , metrics_(metrics)
    , ids_(nodeId_)
    , router_(config, *this, ids_, broker, metrics)
    , publisher_(config, nodeId_, ids_, broker, router_, metrics) {
    clock_.start();
    clockBaseMs_ = QDateTime::currentMSecsSinceEpoch();
    // One coarse timer walks the sessions for keepalive instead of a timer per connection.
    sweepTimer_.setInterval(
        std::max(100, std::min(config_.keepaliveIntervalMs, config_.idleTimeoutMs) / 2));
    connect(&sweepTimer_, &QTimer::timeout, this, &Hub::sweep);
    sweepTimer_.start();
    expiryTimer_.setSingleShot(true);
    expiryTimer_.setTimerType(Qt::PreciseTimer);
    connect(&expiryTimer_, &QTimer::timeout, this, &Hub::closeExpired);
}

Hub::~Hub() {
    // Sessions reference the hub; drop them (and their transports) first.
    admins_.clear();
    sessions_.clear();
}

Session* Hub::attach(Identity identity, std::unique_ptr<ClientTransport> transport) {
    const quint64 id = nextSessionId_++;
    auto session =
        std::make_unique<Session>(id, std::move(identity), std::move(transport), *this, nowMs());
    Session* raw = session.get();
    sessions_.emplace(id, std::move(session));
    if (raw->identity().role == Identity::Role::Admin)
        admins_.insert(raw);
    if (raw->identity().role == Identity::Role::User &&
        ++userConnections_[raw->identity().user] == 1)
        Q_EMIT userArrived(raw->identity().user);
    metrics_.connectionsAccepted++;
    if (raw->identity().expiresAt > 0) {
        // Closed when the token expires (plus the clock leeway the token was accepted with).
        expiries_.add(id, (raw->identity().expiresAt + config_.jwtLeewaySeconds) * 1000);
        armExpiryTimer();
    }
    raw->sendEvent(
        WelcomeEvent{nodeId_, raw->sessionName(), raw->identity().user, kProtocolVersion});
    Q_EMIT openConnectionsChanged(openConnections());
    Q_EMIT sessionAttached(id);
    return raw;
}

void Hub::detach(quint64 sessionId) {
    auto it = sessions_.find(sessionId);
    if (it == sessions_.end())
        return;
    Session* session = it->second.get();
    router_.forget(*session);
    admins_.remove(session);
    if (session->identity().role == Identity::Role::User) {
        auto users = userConnections_.find(session->identity().user);
        if (users != userConnections_.end() && --users.value() <= 0) {
            userConnections_.erase(users);
            Q_EMIT userLeft(session->identity().user);
        }
    }
    expiries_.remove(sessionId);
    sessions_.erase(it);
    Q_EMIT openConnectionsChanged(openConnections());
}

void Hub::sweep() {
    const qint64 now = nowMs();
    QList<Session*> idle;
    for (const auto& [id, s] : sessions_) {
        if (s->isClosing())
            continue;
        const qint64 silent = now - s->lastActivityMs();
        if (silent >= config_.idleTimeoutMs)
            idle.append(s.get());
        else if (silent >= config_.keepaliveIntervalMs)
            s->transport().ping();
    }
    for (Session* s : idle)
        s->close(close_code::kIdleTimeout, QStringLiteral("idle timeout"));
}

void Hub::armExpiryTimer() {
    // Wall-clock expiry against our clock (nowMs() is the epoch plus a monotonic offset).
    if (const auto next = expiries_.nextMs())
        expiryTimer_.start(
            static_cast<int>(std::clamp<qint64>(*next - nowMs(), 0, 24 * 3600 * 1000)));
    else
        expiryTimer_.stop();
}

void Hub::closeExpired() {
    for (quint64 id : expiries_.takeDue(nowMs())) {
        Session* s = session(id);
        if (!s || s->isClosing())
            continue;
        s->sendError(ErrorCode::Unauthorized, QStringLiteral("token expired"));
        s->close(close_code::kUnauthorized, QStringLiteral("token expired"));
    }
    armExpiryTimer();
}

void Hub::closeAll(int code, const QString& reason) {
    for (const auto& [id, s] : sessions_)
        s->close(code, reason); // never detaches synchronously (see Gateway)
}

qint64 Hub::sendWhere(const std::function<bool(const Session&)>& match, const Frame& frame) {
    QList<Session*> targets;
    for (const auto& [id, s] : sessions_)
        if (match(*s))
            targets.append(s.get());
    qint64 sent = 0;
    for (Session* s : targets)
        sent += sendCounted(*s, frame);
    return sent;
}

int Hub::closeWhere(const std::function<bool(const Session&)>& match, int code,
                    const QString& reason) {
    int closed = 0;
    for (const auto& [id, s] : sessions_) {
        if (!s->isClosing() && match(*s)) {
            s->close(code, reason);
            ++closed;
        }
    }
    return closed;
}

QList<quint64> Hub::sessionIds() const {
    QList<quint64> ids;
    ids.reserve(static_cast<qsizetype>(sessions_.size()));
    for (const auto& [id, s] : sessions_)
        ids.append(id);
    return ids;
}

void Hub::handleAdmin(Session& session, const admin::AdminCommand& command) {
    if (const auto* s = std::get_if<SubscribeRequest>(&command))
        return router_.subscribe(session, *s);
    if (const auto* u = std::get_if<UnsubscribeRequest>(&command))
        return router_.unsubscribe(session, *u);
    if (std::holds_alternative<PingRequest>(command))
        return session.sendEvent(PongEvent{});
    if (!adminHandler_)
        return session.sendError(ErrorCode::Unavailable,
                                 QStringLiteral("admin commands are not available on this node"));
    adminHandler_(session, command);
}

qint64 Hub::sendToAll(const Frame& frame) {
    qint64 sent = 0;
    for (const auto& [id, session] : sessions_)
        sent += sendCounted(*session, frame);
    return sent;
}

qint64 Hub::sendCounted(Session& session, const Frame& frame) {
    const bool client = session.identity().role != Identity::Role::Admin;
    return session.send(frame) && client ? 1 : 0;
}

qint64 Hub::sendToAdmins(const Frame& frame) {
    const QSet<Session*> targets = admins_; // a send may close a slow console
    qint64 sent = 0;
    for (Session* s : targets)
        sent += s->send(frame) ? 1 : 0;
    return sent;
}

} // namespace herald
