#include "server/Router.h"

#include "server/Hub.h"
#include "server/Session.h"
#include "shared/Bus.h"
#include "shared/Codec.h"

#include <QLoggingCategory>
#include <algorithm>

Q_LOGGING_CATEGORY(lcRouter, "herald.router")

namespace herald {

using streams::Kind;

Router::Router(const Config& config, Hub& hub, MessageIds& ids, Broker& broker, Metrics& metrics,
               QObject* parent)
    : QObject(parent)
    , config_(config)
    , hub_(hub)
    , ids_(ids)
    , broker_(broker)
    , metrics_(metrics) {
    connect(&broker_, &Broker::dataArrived, this, &Router::deliver);
    broker_.subscribe(streams::kSystemKey); // fixed channel: every connection gets it
    onlineTimer_.setInterval(config_.onlineIntervalMs);
    connect(&onlineTimer_, &QTimer::timeout, this, [this] { pushOnline(true); });
    onlineTimer_.start();
}

streams::Resolved Router::resolveFor(const Session& session, const QString& spec) {
    // Admins may watch any stream, private ones included; others only their own.
    const Identity& who = session.identity();
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

std::optional<streams::StreamRef> Router::resolveOrRefuse(Session& session, const QString& spec) {
    auto resolved = resolveFor(session, spec);
    if (auto* error = std::get_if<Error>(&resolved)) {
        session.sendError(error->code, error->message, spec);
        return std::nullopt;
    }
    return std::get<streams::StreamRef>(resolved);
}

void Router::subscribe(Session& session, const SubscribeRequest& request) {
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

void Router::unsubscribe(Session& session, const UnsubscribeRequest& request) {
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

void Router::forget(Session& session) {
    for (const QString& key : fanout_.removeAll(&session))
        if (key != streams::kOnlineKey)
            broker_.unsubscribe(key);
}

void Router::deliver(const QString& key, const QByteArray& payload) {
    metrics_.busMessages++;
    auto decoded = bus::decode(payload);
    if (auto* error = std::get_if<Error>(&decoded)) {
        metrics_.countError(error->code);
        qCWarning(lcRouter) << "dropped a malformed payload on" << key << ":" << error->message;
        return;
    }
    bus::Message message = std::get<bus::Message>(std::move(decoded));
    if (message.id.isEmpty())
        message.id = ids_.next();
    if (key == streams::kSystemKey) {
        auto notice = codec::decodeBroadcastRequest(message.dataJson);
        if (auto* error = std::get_if<Error>(&notice)) {
            metrics_.countError(error->code);
            qCWarning(lcRouter) << "dropped a malformed system notice:" << error->message;
            return;
        }
        hub_.sendToAll(Frame::text(
            codec::encode(SystemEvent{message.id, std::get<BroadcastRequest>(notice).notice})));
        return;
    }
    sendToSubscribers(key, Frame::text(bus::encodeMessageFrame(key, message.id, message.dataJson)));
}

qint64 Router::sendToSubscribers(const QString& key, const Frame& frame) {
    // Copy (shared, so cheap): a send may close a slow session, which must not disturb this loop.
    const QSet<Session*> targets = fanout_.subscribers(key);
    qint64 sent = 0;
    for (Session* s : targets)
        sent += s->send(frame) ? 1 : 0;
    return sent;
}

QList<QPair<QString, qint64>> Router::topStreams(int limit) const {
    QList<QPair<QString, qint64>> out = fanout_.counts();
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (out.size() > limit)
        out.resize(limit);
    return out;
}

void Router::pushOnline(bool onlyIfChanged) {
    const OnlineEvent now = onlineNow();
    if (onlyIfChanged && now == lastOnline_)
        return;
    lastOnline_ = now;
    sendToSubscribers(streams::kOnlineKey, Frame::text(codec::encode(now)));
}

OnlineEvent Router::onlineNow() const {
    return onlineSource_ ? onlineSource_() : OnlineEvent{hub_.clientCount(), hub_.uniqueUsers()};
}

} // namespace herald
