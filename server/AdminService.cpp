#include "server/AdminService.h"

#include "server/Audit.h"
#include "server/Broker.h"
#include "server/Hub.h"
#include "server/Presence.h"
#include "server/StickyNotices.h"
#include "shared/Codec.h"
#include "shared/Limits.h"
#include "shared/Streams.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>

Q_LOGGING_CATEGORY(lcAdmin, "herald.admin")

namespace herald {
namespace {
qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}
bool isAdmin(const Session& s) {
    return s.identity().role == Identity::Role::Admin;
}
bool anyone(const Session&) {
    return true;
}
} // namespace

AdminService::AdminService(QString selfId, Hub& hub, Broker& broker, Presence& presence,
                           Audit& audit, StickyNotices& sticky, std::function<void()> drainSelf,
                           QObject* parent)
    : QObject(parent)
    , selfId_(std::move(selfId))
    , hub_(hub)
    , broker_(broker)
    , presence_(presence)
    , audit_(audit)
    , sticky_(sticky)
    , drainSelf_(std::move(drainSelf)) {
    // Presence owns the control channel and decodes each message once.
    connect(&presence_, &Presence::controlMessage, this, &AdminService::onControlMessage);
    hub_.setAdminHandler([this](Session& session, const admin::AdminCommand& command) {
        onCommand(session, command);
    });
    snapshotTimer_.setInterval(kSnapshotIntervalMs);
    connect(&snapshotTimer_, &QTimer::timeout, this, &AdminService::pushSnapshots);
    snapshotTimer_.start();
    // A console sees the cluster at once, not up to a second later.
    connect(&hub_, &Hub::sessionAttached, this, [this](quint64 id) {
        if (Session* s = hub_.session(id); s && isAdmin(*s)) {
            s->send(snapshotFrame());
            s->send(stickyFrame());
        }
    });
    // Consoles list the active sticky notices (they are not sent them as clients are).
    connect(&sticky_, &StickyNotices::changed, this, [this] { hub_.sendToAdmins(stickyFrame()); });
}

Frame AdminService::stickyFrame() const {
    return Frame::text(admin::encode(admin::StickyList{sticky_.active()}));
}

AdminService::~AdminService() {
    hub_.setAdminHandler({});
}

void AdminService::onCommand(Session& session, const admin::AdminCommand& command) {
    std::visit(
        [this, &session](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, admin::BroadcastCommand>) {
                broadcast(session, c);
            } else if constexpr (std::is_same_v<T, admin::StreamsCommand>) {
                queryStreams(session, c);
            } else if constexpr (std::is_same_v<T, admin::DrainCommand>) {
                drain(session, c);
            } else if constexpr (std::is_same_v<T, admin::DisconnectCommand>) {
                disconnect(session, c);
            } else if constexpr (std::is_same_v<T, admin::WithdrawCommand>) {
                withdraw(session, c);
            } else if constexpr (std::is_same_v<T, admin::AuditCommand>) {
                const quint64 id = session.id();
                audit_.read(c.limit,
                            [self = QPointer<AdminService>(this), id](Audit::Entries entries) {
                                if (self)
                                    self->sendTo(id, admin::AuditReport{entries});
                            });
            } else {
                hub_.handleAdmin(session, c); // subscribe, unsubscribe, ping: as on any endpoint
            }
        },
        command);
}

void AdminService::sendTo(quint64 sessionId, const admin::AdminEvent& event) {
    if (Session* s = hub_.session(sessionId))
        s->send(Frame::text(admin::encode(event)));
}

void AdminService::send(const cluster::ControlMessage& message, quint64 replyTo) {
    // A failure is told to the admin who asked (if any); nothing is dropped silently.
    QPointer<AdminService> self(this);
    broker_.publish(cluster::kControlKey, cluster::encode(message),
                    [self, replyTo](std::optional<Error> error) {
                        if (!self || !error)
                            return;
                        qCWarning(lcAdmin).noquote()
                            << "control message not sent:" << error->message;
                        if (Session* s = replyTo ? self->hub_.session(replyTo) : nullptr)
                            s->sendError(error->code, error->message);
                    });
}

void AdminService::record(const Session& who, const QString& action, const QString& target,
                          const QString& detail) {
    audit_.record({nowMs(), who.identity().user, action, target, detail});
}

bool AdminService::isLiveNode(const QString& id) const {
    for (const cluster::NodeInfo& n : presence_.liveNodes())
        if (n.id == id)
            return true;
    return false;
}

// ---- broadcast ----

void AdminService::broadcast(Session& session, const admin::BroadcastCommand& command) {
    QString value = command.target.value;
    switch (command.target.kind) {
    case admin::Target::Kind::All:
        value.clear();
        break;
    case admin::Target::Kind::Stream: {
        auto resolved = streams::resolveForPublisher(value);
        if (auto* error = std::get_if<Error>(&resolved))
            return session.sendError(error->code, error->message, value);
        value = std::get<streams::StreamRef>(resolved).routingKey();
        break;
    }
    case admin::Target::Kind::User:
        if (!streams::isValidUserId(value))
            return session.sendError(
                ErrorCode::BadRequest,
                QStringLiteral("\"%1\" is not a valid user id").arg(value.left(64)));
        break;
    case admin::Target::Kind::Node:
        if (!isLiveNode(value))
            return session.sendError(ErrorCode::NotFound,
                                     QStringLiteral("no live node \"%1\"").arg(value.left(64)));
        break;
    }
    if (command.ttlMs > 0) {
        if (command.target.kind != admin::Target::Kind::All)
            return session.sendError(
                ErrorCode::BadRequest,
                QStringLiteral("a sticky broadcast (ttl) is for every connection: target all"));
        if (auto refused = sticky_.refusal())
            return session.sendError(refused->code, refused->message);
    }
    const QString messageId = hub_.newMessageId();
    broadcasts_.insert(messageId, {session.id(),
                                   {command.requestId, messageId, command.target, {}},
                                   nowMs() + kReportLifetimeMs});
    session.send(
        Frame::text(admin::encode(admin::Ack{command.requestId, QStringLiteral("broadcast")})));
    const QString target =
        command.target.kind == admin::Target::Kind::All
            ? QStringLiteral("all")
            : cluster::targetKindName(command.target.kind) + QLatin1Char(':') + value;
    const cluster::AdminBroadcast order{messageId,
                                        selfId_,
                                        command.requestId,
                                        command.target.kind,
                                        value,
                                        command.notice,
                                        command.ttlMs > 0 ? nowMs() + command.ttlMs : 0};
    if (order.expiresAtMs == 0) {
        record(session, QStringLiteral("broadcast"), target, command.notice.title);
        return send(order, session.id());
    }
    record(session, QStringLiteral("broadcast"), target,
           QStringLiteral("%1 (sticky %2)")
               .arg(command.notice.title, codec::formatTtl(command.ttlMs)));
    QPointer<AdminService> self(this);
    sticky_.publish(order, [self, id = session.id()](std::optional<Error> error) {
        if (Session* s = self && error ? self->hub_.session(id) : nullptr)
            s->sendError(error->code, error->message);
    });
}

void AdminService::onBroadcast(const cluster::AdminBroadcast& b) {
    // A sticky notice is kept for later connections; one this node has already (read from Redis
    // first) is not sent twice.
    if (b.expiresAtMs > 0 && (b.targetKind != cluster::TargetKind::All || !sticky_.remember(b)))
        return;
    const Frame frame =
        Frame::text(codec::encode(SystemEvent{b.messageId, b.notice, b.expiresAtMs}));
    qint64 delivered = 0;
    switch (b.targetKind) {
    case cluster::TargetKind::All:
        delivered = hub_.sendWhere(anyone, frame);
        break;
    case cluster::TargetKind::Stream:
        delivered = b.targetValue == streams::kSystemKey
                        ? hub_.sendWhere(anyone, frame)
                        : hub_.router().sendToSubscribers(b.targetValue, frame);
        break;
    case cluster::TargetKind::User:
        delivered = hub_.sendWhere(
            [&b](const Session& s) {
                return s.identity().role == Identity::Role::User &&
                       s.identity().user == b.targetValue;
            },
            frame);
        break;
    case cluster::TargetKind::Node:
        if (b.targetValue == selfId_)
            delivered = hub_.sendWhere(anyone, frame);
        break;
    }
    send(cluster::DeliveryReport{b.messageId, b.origin, selfId_, delivered}, 0);
}

void AdminService::onDeliveryReport(const cluster::DeliveryReport& r) {
    if (r.origin != selfId_)
        return;
    auto it = broadcasts_.find(r.messageId);
    if (it == broadcasts_.end())
        return;
    it->report.deliveredByNode.insert(r.node, r.delivered);
    sendTo(it->session, it->report);
}

// ---- streams ----

void AdminService::queryStreams(Session& session, const admin::StreamsCommand& command) {
    const QString queryId = selfId_ + QLatin1Char('-') + QString::number(++querySeq_, 36);
    PendingStreams& q = queries_[queryId];
    q.session = session.id();
    q.limit = command.limit;
    for (const cluster::NodeInfo& n : presence_.liveNodes())
        q.waiting.insert(n.id);
    QTimer::singleShot(kStreamsWaitMs, this, [this, queryId] { finishStreams(queryId); });
    send(cluster::StreamsQuery{queryId, selfId_}, session.id());
}

void AdminService::onStreamsAnswer(const cluster::StreamsAnswer& a) {
    if (a.origin != selfId_)
        return;
    auto it = queries_.find(a.queryId);
    if (it == queries_.end() || !it->waiting.remove(a.node))
        return; // late, or a node that was not live when asked (or answered twice)
    for (const auto& [key, count] : a.streams)
        it->sums[key] += count;
    if (it->waiting.isEmpty())
        finishStreams(a.queryId);
}

void AdminService::finishStreams(const QString& queryId) {
    const auto it = queries_.find(queryId);
    if (it == queries_.end())
        return;
    admin::StreamsReport report;
    for (auto s = it->sums.cbegin(); s != it->sums.cend(); ++s)
        report.streams.append({s.key(), s.value()});
    std::sort(report.streams.begin(), report.streams.end(), [](const auto& a, const auto& b) {
        return a.subscribers != b.subscribers ? a.subscribers > b.subscribers : a.stream < b.stream;
    });
    if (report.streams.size() > it->limit)
        report.streams.resize(it->limit);
    const quint64 session = it->session;
    queries_.erase(it);
    sendTo(session, report);
}

// ---- drain, disconnect ----

void AdminService::drain(Session& session, const admin::DrainCommand& command) {
    if (!isLiveNode(command.node))
        return session.sendError(ErrorCode::NotFound,
                                 QStringLiteral("no live node \"%1\"").arg(command.node.left(64)));
    session.send(
        Frame::text(admin::encode(admin::Ack{QStringLiteral("drain"), QStringLiteral("drain")})));
    record(session, QStringLiteral("drain"), command.node);
    send(cluster::DrainOrder{command.node, selfId_}, session.id());
}

void AdminService::disconnect(Session& session, const admin::DisconnectCommand& command) {
    if (!streams::isValidUserId(command.user))
        return session.sendError(
            ErrorCode::BadRequest,
            QStringLiteral("\"%1\" is not a valid user id").arg(command.user.left(64)));
    session.send(Frame::text(
        admin::encode(admin::Ack{QStringLiteral("disconnect"), QStringLiteral("disconnect")})));
    record(session, QStringLiteral("disconnect"), command.user);
    send(cluster::DisconnectOrder{command.user, selfId_}, session.id());
}

void AdminService::withdraw(Session& session, const admin::WithdrawCommand& command) {
    const auto notice = sticky_.find(command.id);
    if (!notice)
        return session.sendError(
            ErrorCode::NotFound,
            QStringLiteral("no active sticky notice \"%1\"").arg(command.id.left(64)));
    session.send(Frame::text(admin::encode(admin::Ack{command.id, QStringLiteral("withdraw")})));
    record(session, QStringLiteral("withdraw"), command.id, notice->notice.title);
    QPointer<AdminService> self(this);
    sticky_.withdraw(command.id, [self, id = session.id()](std::optional<Error> error) {
        if (Session* s = self && error ? self->hub_.session(id) : nullptr)
            s->sendError(error->code, error->message);
    });
}

// ---- the control channel ----

void AdminService::onControlMessage(const cluster::ControlMessage& message) {
    if (const auto* b = std::get_if<cluster::AdminBroadcast>(&message)) {
        onBroadcast(*b);
    } else if (const auto* r = std::get_if<cluster::DeliveryReport>(&message)) {
        onDeliveryReport(*r);
    } else if (const auto* q = std::get_if<cluster::StreamsQuery>(&message)) {
        send(cluster::StreamsAnswer{q->queryId, q->origin, selfId_,
                                    hub_.router().topStreams(kStreamsPerNode)},
             0);
    } else if (const auto* a = std::get_if<cluster::StreamsAnswer>(&message)) {
        onStreamsAnswer(*a);
    } else if (const auto* d = std::get_if<cluster::DrainOrder>(&message)) {
        if (d->node == selfId_ && drainSelf_) {
            qCInfo(lcAdmin).noquote() << "drain ordered by an admin on" << d->origin;
            drainSelf_();
        }
    } else if (const auto* w = std::get_if<cluster::StickyWithdraw>(&message)) {
        sticky_.forget(w->id);
    } else if (const auto* x = std::get_if<cluster::DisconnectOrder>(&message)) {
        const int closed = hub_.closeWhere(
            [x](const Session& s) {
                return s.identity().role == Identity::Role::User && s.identity().user == x->user;
            },
            close_code::kDisconnectedByAdmin, QStringLiteral("disconnected by an administrator"));
        if (closed > 0)
            qCInfo(lcAdmin).noquote() << "closed" << closed << "connections of" << x->user
                                      << "(admin on" << x->origin << ")";
    }
}

void AdminService::pushSnapshots() {
    const qint64 now = nowMs();
    for (auto it = broadcasts_.begin(); it != broadcasts_.end();)
        it = it->expiresMs < now ? broadcasts_.erase(it) : std::next(it);
    hub_.sendToAdmins(snapshotFrame());
}

Frame AdminService::snapshotFrame() const {
    const Presence::Totals t = presence_.totals();
    return Frame::text(
        admin::encode(admin::ClusterSnapshot{presence_.liveNodes(), t.connections, t.users}));
}

} // namespace herald
