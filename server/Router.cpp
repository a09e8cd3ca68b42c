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

namespace {
HistoryPolicy policyOf(const Config& config) {
    // Checked when the configuration was loaded; a bad spec cannot get here.
    auto policy = HistoryPolicy::parse(config.history);
    return std::holds_alternative<HistoryPolicy>(policy) ? std::get<HistoryPolicy>(policy)
                                                         : HistoryPolicy{};
}
} // namespace

Router::Router(const Config& config, Hub& hub, MessageIds& ids, Broker& broker, Metrics& metrics,
               QObject* parent)
    : QObject(parent)
    , config_(config)
    , hub_(hub)
    , ids_(ids)
    , broker_(broker)
    , metrics_(metrics)
    , continuity_(
          broker, policyOf(config), metrics,
          [this](const QString& key, const Frame& frame) { sendToSubscribers(key, frame); }) {
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
    auto pending = std::make_shared<PendingSubscribe>();
    pending->session = &session;
    int subscriptions = fanout_.subscriptionCount(&session) + pendingCount(&session);
    for (const QString& spec : request.streams) {
        const auto resolved = resolveOrRefuse(session, spec);
        if (!resolved)
            continue;
        const streams::StreamRef& ref = *resolved;
        const QString key = ref.routingKey();
        if (ref.kind == Kind::System || fanout_.isSubscribed(&session, key) ||
            isPending(&session, key) || pending->accepted.contains(key)) {
            pending->accepted.append(key);
            continue;
        }
        if (subscriptions >= config_.maxSubscriptions) {
            session.sendError(ErrorCode::TooManySubscriptions,
                              QStringLiteral("at most %1 subscriptions per connection")
                                  .arg(config_.maxSubscriptions),
                              spec);
            continue;
        }
        ++subscriptions;
        auto join = std::make_shared<StreamJoin>();
        join->key = key;
        if (request.since.contains(spec))
            join->since = request.since.value(spec);
        else if (request.since.contains(key))
            join->since = request.since.value(key);
        retain(key);
        pending->joins.push_back(join);
        pending->accepted.append(key);
    }
    if (pending->accepted.isEmpty())
        return;
    bool allReady = true;
    for (const auto& join : pending->joins)
        allReady = continuity_.readyNow(join) && allReady;
    if (allReady)
        return answer(*pending);
    pending_[&session].push_back(pending);
    // Never ready inside join(): every join is registered before the first can finish.
    // Weak: the request owns its joins, and pending_ owns the request (no cycle to leak).
    const std::weak_ptr<PendingSubscribe> owner = pending;
    for (const auto& join : pending->joins) {
        join->onReady = [this, owner] {
            if (const auto alive = owner.lock())
                finishIfReady(alive);
        };
        continuity_.join(join);
    }
}

void Router::finishIfReady(const std::shared_ptr<PendingSubscribe>& pending) {
    for (const auto& join : pending->joins)
        if (!join->ready && !join->cancelled)
            return;
    const auto it = pending_.find(pending->session);
    if (it == pending_.end())
        return;
    std::erase(it->second, pending);
    if (it->second.empty())
        pending_.erase(it);
    answer(*pending);
}

void Router::answer(const PendingSubscribe& pending) {
    if (pending.accepted.isEmpty())
        return; // every stream of it was unsubscribed while it was set up
    Session& session = *pending.session;
    SubscribedEvent event{pending.accepted, {}, {}};
    for (const auto& join : pending.joins) {
        if (join->cancelled)
            continue;
        // Now, not when the join became ready: all up to here is replayed or was sent live.
        if (continuity_.retentionFor(join->key))
            event.positions.insert(join->key, continuity_.lastIdOf(join->key));
        if (join->since)
            event.recovered.insert(join->key, join->recovered);
    }
    session.sendEvent(event);
    bool wantsOnline = false;
    for (const auto& join : pending.joins) {
        continuity_.leave(join);
        if (join->cancelled)
            continue;
        // From here on the fan-out index delivers: nothing arrives between replay and live.
        // A session closed by a replay its queue could not take is detached later (closes are
        // asynchronous), and forget() then takes it out of the index again.
        metrics_.historyReplayed += sendReplay(session, *join);
        fanout_.add(&session, join->key);
        if (session.identity().role == Identity::Role::Admin)
            ++adminTails_[join->key];
        wantsOnline = wantsOnline || join->key == streams::kOnlineKey;
    }
    if (wantsOnline)
        session.sendEvent(onlineNow());
}

qint64 Router::sendReplay(Session& session, const StreamJoin& join) {
    if (!join.since)
        return 0;
    qint64 sent = 0;
    std::optional<streamid::Position> last = streamid::parse(*join.since);
    // Up to what this node has delivered to the stream's subscribers, no further: the session
    // joins them next, and what is later reaches it that way (a gap being filled included).
    const streamid::Position delivered = continuity_.lastPositionOf(join.key);
    for (const auto& [position, frame] : join.replay) {
        if ((last && position <= *last) || position > delivered)
            continue;
        sent += session.send(frame) ? 1 : 0;
        last = position;
    }
    for (const auto& [position, frame] : join.live) {
        if ((last && position <= *last) || position > delivered)
            continue; // in the replay too, or still to come
        session.send(frame);
        last = position;
    }
    return sent;
}

bool Router::isPending(Session* session, const QString& key) const {
    const auto it = pending_.find(session);
    if (it == pending_.end())
        return false;
    for (const auto& pending : it->second)
        for (const auto& join : pending->joins)
            if (join->key == key && !join->cancelled)
                return true;
    return false;
}

int Router::pendingCount(Session* session) const {
    const auto it = pending_.find(session);
    int count = 0;
    if (it != pending_.end())
        for (const auto& pending : it->second)
            for (const auto& join : pending->joins)
                count += join->cancelled ? 0 : 1;
    return count;
}

void Router::cancelPending(Session* session, const QString& key) {
    const auto it = pending_.find(session);
    if (it == pending_.end())
        return;
    const auto requests = it->second; // finishIfReady below may change the list
    for (const auto& pending : requests) {
        for (const auto& join : pending->joins) {
            if (join->cancelled || (!key.isEmpty() && join->key != key))
                continue;
            join->cancelled = true;
            continuity_.leave(join);
            release(join->key);
        }
        if (key.isEmpty()) {
            pending->joins.clear();
        } else {
            pending->accepted.removeAll(key);
        }
    }
    if (key.isEmpty()) {
        pending_.erase(session);
        return;
    }
    for (const auto& pending : requests)
        finishIfReady(pending); // the cancelled join may have been the last one waited for
}

void Router::retain(const QString& key) {
    if (key == streams::kOnlineKey)
        return; // this node's own feed, not a broker key
    if (++brokerRefs_[key] == 1) {
        continuity_.track(key);
        broker_.subscribe(key);
    }
}

void Router::release(const QString& key) {
    const auto it = brokerRefs_.find(key);
    if (it == brokerRefs_.end() || --it.value() > 0)
        return;
    brokerRefs_.erase(it);
    continuity_.untrack(key);
    broker_.unsubscribe(key);
}

void Router::unsubscribe(Session& session, const UnsubscribeRequest& request) {
    QStringList removed;
    for (const QString& spec : request.streams) {
        const auto resolved = resolveOrRefuse(session, spec);
        if (!resolved)
            continue;
        const QString key = resolved->routingKey();
        if (isPending(&session, key))
            cancelPending(&session, key);
        if (fanout_.isSubscribed(&session, key)) {
            fanout_.remove(&session, key);
            forgetTail(session, key);
            release(key);
        }
        removed.append(key);
    }
    if (!removed.isEmpty())
        session.sendEvent(UnsubscribedEvent{removed});
}

void Router::forget(Session& session) {
    cancelPending(&session);
    const QStringList keys = fanout_.keysOf(&session);
    fanout_.removeAll(&session);
    for (const QString& key : keys) {
        forgetTail(session, key);
        release(key);
    }
}

void Router::forgetTail(const Session& session, const QString& key) {
    if (session.identity().role != Identity::Role::Admin)
        return;
    const auto it = adminTails_.find(key);
    if (it != adminTails_.end() && --it.value() <= 0)
        adminTails_.erase(it);
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
    continuity_.arrive(key, std::move(message));
}

qint64 Router::sendToSubscribers(const QString& key, const Frame& frame) {
    // Copy (shared, so cheap): a send may close a slow session, which must not disturb this loop.
    const QSet<Session*> targets = fanout_.subscribers(key);
    qint64 sent = 0;
    for (Session* s : targets)
        sent += s->send(frame) && s->identity().role != Identity::Role::Admin ? 1 : 0;
    return sent;
}

QList<QPair<QString, qint64>> Router::topStreams(int limit) const {
    QList<QPair<QString, qint64>> out;
    for (auto [key, count] : fanout_.counts()) {
        // Admins tailing a stream are not its audience.
        count -= adminTails_.value(key);
        if (count > 0)
            out.append({key, count});
    }
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
