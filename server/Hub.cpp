#include "server/Hub.h"

#include "shared/Bus.h"
#include "shared/Codec.h"
#include "shared/Limits.h"
#include "shared/Version.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <algorithm>

Q_LOGGING_CATEGORY(lcHub, "herald.hub")

namespace herald {

using streams::Kind;

Hub::Hub(const Config& config, QString nodeId, Broker& broker, Metrics& metrics, QObject* parent)
    : QObject(parent)
    , config_(config)
    , nodeId_(std::move(nodeId))
    , broker_(broker)
    , metrics_(metrics) {
    clock_.start();
    clockBaseMs_ = QDateTime::currentMSecsSinceEpoch();
    connect(&broker_, &Broker::messageArrived, this, &Hub::onBusMessage);
    broker_.subscribe(streams::kSystemKey); // fixed control channel: every connection gets it

    // One coarse timer walks the sessions for keepalive instead of a timer per connection.
    sweepTimer_.setInterval(
        std::max(100, std::min(config_.keepaliveIntervalMs, config_.idleTimeoutMs) / 2));
    connect(&sweepTimer_, &QTimer::timeout, this, &Hub::sweep);
    sweepTimer_.start();
    onlineTimer_.setInterval(config_.onlineIntervalMs);
    connect(&onlineTimer_, &QTimer::timeout, this, [this] { pushOnline(true); });
    onlineTimer_.start();
    expiryTimer_.setSingleShot(true);
    expiryTimer_.setTimerType(Qt::PreciseTimer);
    connect(&expiryTimer_, &QTimer::timeout, this, &Hub::closeExpired);
}

Hub::~Hub() {
    // Sessions reference the hub; drop them (and their transports) first.
    sessions_.clear();
}

Session* Hub::attach(Identity identity, std::unique_ptr<ClientTransport> transport) {
    const quint64 id = nextSessionId_++;
    auto session =
        std::make_unique<Session>(id, std::move(identity), std::move(transport), *this, nowMs());
    Session* raw = session.get();
    sessions_.emplace(id, std::move(session));
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
    Q_EMIT connectionCountChanged(connectionCount());
    Q_EMIT sessionAttached(id);
    return raw;
}

void Hub::detach(quint64 sessionId) {
    auto it = sessions_.find(sessionId);
    if (it == sessions_.end())
        return;
    Session* session = it->second.get();
    for (const QString& key : fanout_.removeAll(session))
        if (key != streams::kOnlineKey)
            broker_.unsubscribe(key);
    if (session->identity().role == Identity::Role::User) {
        auto users = userConnections_.find(session->identity().user);
        if (users != userConnections_.end() && --users.value() <= 0) {
            userConnections_.erase(users);
            Q_EMIT userLeft(session->identity().user);
        }
    }
    expiries_.remove(sessionId);
    sessions_.erase(it);
    Q_EMIT connectionCountChanged(connectionCount());
}

streams::Resolved Hub::resolveFor(const Identity& who, const QString& spec) {
    // Admins may watch any stream, private ones included; others only their own.
    if (who.role != Identity::Role::Admin)
        return streams::resolveForSubscriber(spec, who.role == Identity::Role::User ? who.user
                                                                                    : QString());
    auto resolved = streams::resolveForPublisher(spec);
    if (auto* error = std::get_if<Error>(&resolved);
        error && spec.startsWith(QLatin1String("private.")))
        error->message += QStringLiteral(
            " (admin connections name private streams in full: private.<user>.<name>)");
    return resolved;
}

std::optional<streams::StreamRef> Hub::resolveOrRefuse(Session& session, const QString& spec) {
    auto resolved = resolveFor(session.identity(), spec);
    if (auto* error = std::get_if<Error>(&resolved)) {
        session.sendError(error->code, error->message, spec);
        return std::nullopt;
    }
    return std::get<streams::StreamRef>(resolved);
}

void Hub::subscribe(Session& session, const SubscribeRequest& request) {
    QStringList accepted;
    bool wantsOnline = false;
    for (const QString& spec : request.streams) {
        const auto resolved = resolveOrRefuse(session, spec);
        if (!resolved)
            continue;
        const streams::StreamRef& ref = *resolved;
        const QString key = ref.routingKey();
        if (ref.kind == Kind::System || fanout_.isSubscribed(&session, key)) {
            accepted.append(key);
            continue;
        }
        if (fanout_.subscriptionCount(&session) >= config_.maxSubscriptions) {
            session.sendError(ErrorCode::TooManySubscriptions,
                              QStringLiteral("at most %1 subscriptions per connection")
                                  .arg(config_.maxSubscriptions),
                              spec);
            continue;
        }
        if (fanout_.add(&session, key) && ref.kind != Kind::Online)
            broker_.subscribe(key);
        wantsOnline = wantsOnline || ref.kind == Kind::Online;
        accepted.append(key);
    }
    if (!accepted.isEmpty())
        session.sendEvent(SubscribedEvent{accepted});
    if (wantsOnline)
        session.sendEvent(onlineNow());
}

void Hub::unsubscribe(Session& session, const UnsubscribeRequest& request) {
    QStringList removed;
    for (const QString& spec : request.streams) {
        const auto resolved = resolveOrRefuse(session, spec);
        if (!resolved)
            continue;
        const QString key = resolved->routingKey();
        if (fanout_.remove(&session, key) && key != streams::kOnlineKey)
            broker_.unsubscribe(key);
        removed.append(key);
    }
    if (!removed.isEmpty())
        session.sendEvent(UnsubscribedEvent{removed});
}

QString Hub::nextMessageId() {
    // Sortable by time, unique across nodes and restarts: <ms base36>-<node>-<seq base36>.
    return QString::number(QDateTime::currentMSecsSinceEpoch(), 36) + QLatin1Char('-') + nodeId_ +
           QLatin1Char('-') + QString::number(++messageSeq_, 36);
}

void Hub::publishPayload(const QString& key, const QString& id, const QByteArray& payload,
                         PublishCallback done) {
    // Answered once: by the broker, or by the timeout when the broker hangs (a frozen Redis).
    auto answered = std::make_shared<bool>(false);
    auto finish = [this, key, id, done = std::move(done), answered](std::optional<Error> error) {
        if (*answered)
            return;
        *answered = true;
        if (error)
            metrics_.countError(error->code);
        else
            metrics_.published++;
        if (done)
            done(PublishResult{id, key, error});
    };
    broker_.publish(key, payload, [this, key, payload, finish](std::optional<Error> error) {
        if (error && error->code == ErrorCode::Unavailable) {
            // The cluster is out of reach: this node's own subscribers still get the message,
            // and the caller is told plainly that the others did not.
            onBusMessage(key, payload);
            error->message +=
                QStringLiteral("; delivered to this node's connections only (%1)").arg(nodeId_);
        }
        finish(error);
    });
    if (!*answered) {
        QTimer::singleShot(config_.publishTimeoutMs, this, [finish, ms = config_.publishTimeoutMs] {
            finish(
                Error{ErrorCode::Unavailable,
                      QStringLiteral("the broker did not confirm the publish within %1 ms; it may "
                                     "still be delivered")
                          .arg(ms)});
        });
    }
}

void Hub::publish(const streams::StreamRef& stream, const QByteArray& dataJson,
                  PublishCallback done) {
    const QString id = nextMessageId();
    const QByteArray payload =
        bus::encodeEnvelope({id, nodeId_, QDateTime::currentMSecsSinceEpoch(), dataJson});
    publishPayload(stream.routingKey(), id, payload, std::move(done));
}

void Hub::broadcast(const SystemNotice& notice, PublishCallback done) {
    const QString id = nextMessageId();
    const QByteArray data = codec::encode(BroadcastRequest{notice});
    const QByteArray payload =
        bus::encodeEnvelope({id, nodeId_, QDateTime::currentMSecsSinceEpoch(), data});
    publishPayload(streams::kSystemKey, id, payload, std::move(done));
}

void Hub::onBusMessage(const QString& key, const QByteArray& payload) {
    metrics_.busMessages++;
    auto decoded = bus::decode(payload);
    if (auto* error = std::get_if<Error>(&decoded)) {
        metrics_.countError(error->code);
        qCWarning(lcHub) << "dropped a malformed payload on" << key << ":" << error->message;
        return;
    }
    bus::Message message = std::get<bus::Message>(std::move(decoded));
    if (message.id.isEmpty())
        message.id = nextMessageId();
    if (key == streams::kSystemKey) {
        auto notice = codec::decodeBroadcastRequest(message.dataJson);
        if (auto* error = std::get_if<Error>(&notice)) {
            metrics_.countError(error->code);
            qCWarning(lcHub) << "dropped a malformed system notice:" << error->message;
            return;
        }
        const auto frame =
            codec::encode(SystemEvent{message.id, std::get<BroadcastRequest>(notice).notice});
        deliverToAll(Frame::text(frame));
        return;
    }
    sendToSubscribers(key, Frame::text(bus::encodeMessageFrame(key, message.id, message.dataJson)));
}

void Hub::deliverToAll(const Frame& frame) {
    for (const auto& [id, session] : sessions_)
        session->send(frame);
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

void Hub::pushOnline(bool onlyIfChanged) {
    const OnlineEvent now = onlineNow();
    if (onlyIfChanged && now == lastOnline_)
        return;
    lastOnline_ = now;
    sendToSubscribers(streams::kOnlineKey, Frame::text(codec::encode(now)));
}

OnlineEvent Hub::onlineNow() const {
    return onlineSource_ ? onlineSource_() : OnlineEvent{connectionCount(), uniqueUsers()};
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
        sent += s->send(frame) ? 1 : 0;
    return sent;
}

qint64 Hub::sendToSubscribers(const QString& key, const Frame& frame) {
    // Copy (shared, so cheap): a send may close a slow session, which must not disturb this loop.
    const QSet<Session*> targets = fanout_.subscribers(key);
    qint64 sent = 0;
    for (Session* s : targets)
        sent += s->send(frame) ? 1 : 0;
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

QList<QPair<QString, qint64>> Hub::topStreams(int limit) const {
    QList<QPair<QString, qint64>> out = fanout_.counts();
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (out.size() > limit)
        out.resize(limit);
    return out;
}

void Hub::handleAdmin(Session& session, const admin::AdminCommand& command) {
    if (const auto* s = std::get_if<SubscribeRequest>(&command))
        return subscribe(session, *s);
    if (const auto* u = std::get_if<UnsubscribeRequest>(&command))
        return unsubscribe(session, *u);
    if (std::holds_alternative<PingRequest>(command))
        return session.sendEvent(PongEvent{});
    if (!adminHandler_)
        return session.sendError(ErrorCode::Unavailable,
                                 QStringLiteral("admin commands are not available on this node"));
    adminHandler_(session, command);
}

} // namespace herald
