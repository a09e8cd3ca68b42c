#include "console/app/AdminClient.h"

#include "shared/ServerUrl.h"

#include <QDateTime>
#include <QNetworkRequest>

namespace herald::console {
namespace {
constexpr quint16 kCloseUnauthorized = 4001;
// A node sends a snapshot every second and answers pings; 15 s of silence means it is stuck
// (or a proxy swallowed the connection), which TCP alone may not notice for many minutes.
constexpr int kSilenceLimitMs = 15'000;
constexpr int kPingEveryMs = 5'000;
} // namespace

AdminClient::AdminClient(QObject* parent)
    : QObject(parent) {
    retry_.setSingleShot(true);
    connect(&retry_, &QTimer::timeout, this, &AdminClient::connectNow);
    connect(&socket_, &QWebSocket::connected, this, &AdminClient::onConnected);
    connect(&socket_, &QWebSocket::disconnected, this, &AdminClient::onDisconnected);
    connect(&socket_, &QWebSocket::textMessageReceived, this, &AdminClient::onText);
    watchdog_.setSingleShot(true);
    watchdog_.setInterval(kSilenceLimitMs);
    connect(&watchdog_, &QTimer::timeout, this, [this] {
        qWarning("admin: %s silent for %d s; reconnecting", qPrintable(url_.host()),
                 kSilenceLimitMs / 1000);
        socket_.abort();
        onDisconnected(); // an aborted connect emits no disconnected(); a second call is a no-op
    });
    // A failed connect (refused, unreachable, TLS) may end with an error alone; treat it as a loss.
    // (QWebSocket::errorOccurred only exists from Qt 6.5.)
    connect(&socket_, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this] {
        if (socket_.state() == QAbstractSocket::UnconnectedState)
            onDisconnected();
    });
    keepalive_.setInterval(kPingEveryMs);
    connect(&keepalive_, &QTimer::timeout, this, [this] { send(PingRequest{}); });
}

AdminClient::~AdminClient() {
    // Leaving cleanly tells the node at once rather than after its idle timeout.
    wanted_ = false;
    socket_.disconnect(this);
    socket_.close();
}

QUrl AdminClient::adminUrlFor(const QUrl& server) {
    // The same rules as heraldctl's: a proxy's path prefix is kept, ws:// and host:port work.
    const auto base = serverurl::normalise(server.toString(QUrl::RemoveQuery));
    return base ? serverurl::webSocket(*base, QStringLiteral("/admin")) : QUrl();
}

void AdminClient::setBackoff(int firstMs, int maxMs) {
    firstBackoffMs_ = std::max(10, firstMs);
    maxBackoffMs_ = std::max(firstBackoffMs_, maxMs);
    backoffMs_ = firstBackoffMs_;
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
    watchdog_.stop();
    keepalive_.stop();
    if (socket_.state() != QAbstractSocket::UnconnectedState)
        socket_.abort();
    setState(State::Idle, tr("not connected"));
}

void AdminClient::connectNow() {
    if (!wanted_)
        return;
    if (state_ != State::Reconnecting)
        setState(State::Connecting, tr("connecting to %1…").arg(url_.toDisplayString()));
    lastRefusal_.clear();
    QNetworkRequest request(url_);
    // The header, not ?token=, so the credential stays out of proxy and server access logs.
    if (!token_.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + token_);
    watchdog_.start(); // also bounds a handshake that never completes
    socket_.open(request);
}

void AdminClient::onConnected() {
    backoffMs_ = firstBackoffMs_;
    // "Connected" waits for the welcome: a refused token is also accepted first, then closed.
    setState(State::Connecting, tr("handshake with %1…").arg(url_.toDisplayString()));
}

void AdminClient::onDisconnected() {
    watchdog_.stop();
    keepalive_.stop();
    // disconnected(), errorOccurred() and the watchdog may all report one loss: count it once.
    if (!wanted_ || retry_.isActive())
        return;
    if (socket_.closeCode() == kCloseUnauthorized) {
        wanted_ = false;
        const QString why = lastRefusal_.isEmpty() ? socket_.closeReason() : lastRefusal_;
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
    scheduleReconnect();
}

void AdminClient::scheduleReconnect() {
    const QString why =
        socket_.errorString().isEmpty() ? tr("connection closed") : socket_.errorString();
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
    socket_.sendTextMessage(QString::fromUtf8(admin::encode(command)));
    return true;
}

admin::BroadcastCommand AdminClient::broadcast(const admin::Target& target,
                                               const SystemNotice& notice) {
    // Unique across console restarts too, so audit entries and reports never get confused.
    admin::BroadcastCommand command{QStringLiteral("c%1-%2")
                                        .arg(QDateTime::currentMSecsSinceEpoch(), 0, 36)
                                        .arg(nextRequest_++),
                                    target, notice};
    if (!send(command))
        command.requestId.clear();
    return command;
}

void AdminClient::onText(const QString& text) {
    watchdog_.start();
    const QByteArray bytes = text.toUtf8();
    auto decoded = admin::decodeEvent(bytes);
    if (auto* error = std::get_if<Error>(&decoded)) {
        qWarning("admin: undecodable event from %s: %s", qPrintable(url_.host()),
                 qPrintable(error->message));
        return;
    }
    const auto& event = std::get<std::variant<admin::AdminEvent, ServerMessage>>(decoded);
    if (const auto* adminEvent = std::get_if<admin::AdminEvent>(&event)) {
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
                else
                    Q_EMIT ackReceived(e);
            },
            *adminEvent);
        return;
    }
    const ServerMessage& message = std::get<ServerMessage>(event);
    if (const auto* welcome = std::get_if<WelcomeEvent>(&message)) {
        nodeId_ = welcome->node;
        setState(State::Connected,
                 tr("connected to %1 (%2)").arg(welcome->node, url_.toDisplayString()));
        keepalive_.start();
        Q_EMIT welcomed(welcome->node);
    } else if (const auto* m = std::get_if<MessageEvent>(&message)) {
        Q_EMIT messageReceived(*m);
    } else if (const auto* e = std::get_if<ErrorEvent>(&message)) {
        if (e->error.code == ErrorCode::Unauthorized)
            lastRefusal_ = e->error.message;
        Q_EMIT serverError(errorCodeName(e->error.code), e->error.message);
    }
}

} // namespace herald::console
