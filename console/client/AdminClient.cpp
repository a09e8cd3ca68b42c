#include "console/client/AdminClient.h"

#include "shared/Version.h"

#include <QDateTime>

namespace herald::console {
namespace {
// A node sends a snapshot every second and answers pings; 15 s of silence means it is stuck
// (or a proxy swallowed the connection), which TCP alone may not notice for many minutes.
constexpr int kSilenceLimitMs = 15'000;
constexpr int kPingEveryMs = 5'000;
} // namespace

AdminClient::AdminClient(QObject* parent)
    : QObject(parent) {
    retry_.setSingleShot(true);
    connect(&retry_, &QTimer::timeout, this, &AdminClient::connectNow);
    socket_.setSilenceLimit(kSilenceLimitMs);
    socket_.setKeepalive(kPingEveryMs);
    socket_.setUserAgent(QStringLiteral("herald-console/%1").arg(QLatin1String(kVersion)));
    connect(&socket_, &client::NodeSocket::opened, this, &AdminClient::onOpened);
    connect(&socket_, &client::NodeSocket::ended, this, &AdminClient::onEnded);
    connect(&socket_, &client::NodeSocket::received, this, &AdminClient::onMessage);
    connect(&socket_, &client::NodeSocket::adminEventReceived, this, &AdminClient::onAdminEvent);
    connect(&socket_, &client::NodeSocket::undecodable, this, [this](const Error& error) {
        qWarning("admin: undecodable event from %s: %s", qPrintable(url_.host()),
                 qPrintable(error.message));
    });
}

AdminClient::~AdminClient() {
    wanted_ = false;
    // The socket's own destructor closes with a close frame: the node knows at once.
    socket_.disconnect(this);
}

QUrl AdminClient::adminUrlFor(const QUrl& server) {
    return client::NodeSocket::urlFor(server, QStringLiteral("/admin"));
}

void AdminClient::setBackoff(int firstMs, int maxMs) {
    firstBackoffMs_ = std::max(10, firstMs);
    maxBackoffMs_ = std::max(firstBackoffMs_, maxMs);
    backoffMs_ = firstBackoffMs_;
}

void AdminClient::setUserAgent(const QString& userAgent) {
    socket_.setUserAgent(userAgent);
}

void AdminClient::open(const QUrl& server, const QByteArray& token) {
    close();
    url_ = adminUrlFor(server);
    token_ = token;
    wanted_ = true;
    backoffMs_ = firstBackoffMs_;
    connectNow();
}

void AdminClient::close() {
    wanted_ = false;
    retry_.stop();
    socket_.abort();
    setState(State::Idle, tr("not connected"));
}

void AdminClient::closeGracefully() {
    wanted_ = false;
    retry_.stop();
    socket_.close(); // ends with connectionEnded(Local), then Idle
}

void AdminClient::connectNow() {
    if (!wanted_)
        return;
    if (state_ != State::Reconnecting)
        setState(State::Connecting, tr("connecting to %1…").arg(url_.toDisplayString()));
    socket_.open(url_, token_);
}

void AdminClient::onOpened() {
    backoffMs_ = firstBackoffMs_;
    // "Connected" waits for the welcome: a refused token is also accepted first, then closed.
    setState(State::Connecting, tr("handshake with %1…").arg(url_.toDisplayString()));
}

void AdminClient::onEnded(const client::Ending& ending) {
    using Kind = client::Ending::Kind;
    Q_EMIT connectionEnded(ending);
    if (ending.kind == Kind::Local) {
        setState(State::Idle, tr("not connected"));
        return;
    }
    if (!wanted_)
        return;
    if (ending.kind == Kind::Silent)
        qWarning("admin: %s silent for %d s; %s", qPrintable(url_.host()),
                 ending.silenceLimitMs / 1000, reconnect_ ? "reconnecting" : "giving up");
    if (ending.kind == Kind::TokenRefused) {
        wanted_ = false;
        const QString why = ending.detail;
        // The fix may be on either side: a wrong or missing token here, or a node that has
        // no admin token at all (a fresh install). Name both, and what to set on the node.
        setState(State::Refused,
                 tr("admin token refused by %1: %2. %3 The console will not retry with "
                    "this token.")
                     .arg(url_.host(), why.isEmpty() ? tr("unauthorized") : why,
                          token_.isEmpty()
                              ? tr("No token was given: enter the node's admin token in the "
                                   "connection profile.")
                              : tr("Check the token in the connection profile; on the node, "
                                   "it must be one of admin_tokens (--admin-tokens or "
                                   "HERALD_ADMIN_TOKENS, then restart it).")));
        return;
    }
    const QString why = ending.describe(url_.toDisplayString());
    if (!reconnect_) {
        wanted_ = false;
        setState(State::Idle, why);
        return;
    }
    scheduleReconnect(why);
}

void AdminClient::scheduleReconnect(const QString& why) {
    setState(
        State::Reconnecting,
        tr("connection lost (%1); retrying in %2 s…").arg(why).arg(backoffMs_ / 1000.0, 0, 'f', 1));
    retry_.start(backoffMs_);
    backoffMs_ = std::min(backoffMs_ * 2, maxBackoffMs_);
}

void AdminClient::setState(State state, const QString& text) {
    if (state == state_ && text == stateText_)
        return;
    state_ = state;
    stateText_ = text;
    Q_EMIT stateChanged(state, text);
}

bool AdminClient::send(const admin::AdminCommand& command) {
    if (state_ != State::Connected)
        return false;
    return socket_.send(admin::encode(command));
}

admin::BroadcastCommand AdminClient::broadcast(const admin::Target& target,
                                               const SystemNotice& notice, qint64 ttlMs) {
    // Unique across console restarts too, so audit entries and reports never get confused.
    admin::BroadcastCommand command{QStringLiteral("c%1-%2")
                                        .arg(QDateTime::currentMSecsSinceEpoch(), 0, 36)
                                        .arg(nextRequest_++),
                                    target, notice, ttlMs};
    if (!send(command))
        command.requestId.clear();
    return command;
}

void AdminClient::onAdminEvent(const admin::AdminEvent& event) {
    std::visit(
        [this](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, admin::ClusterSnapshot>)
                Q_EMIT snapshotReceived(e);
            else if constexpr (std::is_same_v<T, admin::BroadcastReport>)
                Q_EMIT broadcastReportReceived(e);
            else if constexpr (std::is_same_v<T, admin::StreamsReport>)
                Q_EMIT streamsReceived(e);
            else if constexpr (std::is_same_v<T, admin::AuditReport>)
                Q_EMIT auditReceived(e);
            else if constexpr (std::is_same_v<T, admin::StickyList>)
                Q_EMIT stickyReceived(e);
            else
                Q_EMIT ackReceived(e);
        },
        event);
}

void AdminClient::onMessage(const ServerMessage& message) {
    if (const auto* welcome = std::get_if<WelcomeEvent>(&message)) {
        nodeId_ = welcome->node;
        setState(State::Connected,
                 tr("connected to %1 (%2)").arg(welcome->node, url_.toDisplayString()));
        Q_EMIT welcomed(welcome->node);
    } else if (const auto* m = std::get_if<MessageEvent>(&message)) {
        Q_EMIT messageReceived(*m);
    } else if (const auto* e = std::get_if<ErrorEvent>(&message)) {
        Q_EMIT serverError(errorCodeName(e->error.code), e->error.message);
    }
}

} // namespace herald::console
