#include "console/client/NodeSocket.h"

#include "shared/Codec.h"
#include "shared/Limits.h"
#include "shared/ServerUrl.h"

#include <QNetworkRequest>
#include <QRegularExpression>

namespace herald::client {
namespace {

constexpr int kCloseWaitMs = 1000;

QString seconds(int ms) {
    return ms % 1000 == 0 ? QString::number(ms / 1000) : QString::number(ms / 1000.0, 'g', 4);
}

} // namespace

QString Ending::describe(const QString& where) const {
    switch (kind) {
    case Kind::Unreachable:
        return QStringLiteral("cannot reach %1: %2").arg(where, detail);
    case Kind::Refused:
        return QStringLiteral("%1 refused the WebSocket connection: %2").arg(where, detail);
    case Kind::TokenRefused:
        return QStringLiteral("%1 refused the credential: %2").arg(where, detail);
    case Kind::Closed: {
        if (closeCode == 0)
            return QStringLiteral("the server closed the connection with a close code Qt %1 cannot "
                                  "read (a draining node sends 1012, a full one 1013); try again "
                                  "or another node")
                .arg(QLatin1String(qVersion()));
        QString text =
            QStringLiteral("the server closed the connection (close code %1%2)")
                .arg(closeCode)
                .arg(closeReason.isEmpty() ? QString() : QStringLiteral(": ") + closeReason);
        if (closeCode == close_code::kServiceRestart || closeCode == close_code::kGoingAway)
            text += QStringLiteral("; the node is going away, try again or another node");
        return text;
    }
    case Kind::Silent:
        return wasOpen
                   ? QStringLiteral("%1 sent nothing for %2 s").arg(where, seconds(silenceLimitMs))
                   : QStringLiteral("no answer from %1 within %2 s")
                         .arg(where, seconds(silenceLimitMs));
    case Kind::Local:
        break;
    }
    return QStringLiteral("connection closed");
}

NodeSocket::NodeSocket(QObject* parent)
    : QObject(parent) {
    connect(&socket_, &QWebSocket::connected, this, &NodeSocket::onConnected);
    connect(&socket_, &QWebSocket::disconnected, this, &NodeSocket::onDisconnected);
    connect(&socket_, &QWebSocket::textMessageReceived, this, &NodeSocket::onText);
    // A failed connect (refused, unreachable, TLS, an HTTP answer) may end with an error alone.
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    connect(&socket_, &QWebSocket::errorOccurred, this, &NodeSocket::onSocketError);
#else
    connect(&socket_, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            &NodeSocket::onSocketError);
#endif
    watchdog_.setSingleShot(true);
    connect(&watchdog_, &QTimer::timeout, this, [this] {
        Ending ending;
        ending.kind = Ending::Kind::Silent;
        ending.wasOpen = wasOpen_;
        ending.silenceLimitMs = watchdog_.interval();
        end(ending);
    });
    connect(&keepalive_, &QTimer::timeout, this,
            [this] { send(codec::encode(ClientMessage{PingRequest{}})); });
    closeWait_.setSingleShot(true);
    connect(&closeWait_, &QTimer::timeout, this, [this] { end(Ending{}); });
}

NodeSocket::~NodeSocket() {
    // Leaving cleanly tells the node at once rather than after its idle timeout.
    socket_.disconnect(this);
    if (socket_.state() == QAbstractSocket::ConnectedState)
        socket_.close();
}

QUrl NodeSocket::urlFor(const QUrl& server, const QString& endpoint) {
    // The same rules everywhere: a proxy's path prefix is kept, ws:// and host:port work.
    const auto base = serverurl::normalise(server.toString(QUrl::RemoveQuery));
    return base ? serverurl::webSocket(*base, endpoint) : QUrl();
}

void NodeSocket::setSilenceLimit(int ms) {
    watchdog_.setInterval(std::max(0, ms));
    if (ms <= 0)
        watchdog_.stop();
}

void NodeSocket::setKeepalive(int ms) {
    keepalive_.setInterval(std::max(0, ms));
    if (ms <= 0)
        keepalive_.stop();
}

void NodeSocket::open(const QUrl& url, const QByteArray& credential) {
    abort();
    url_ = url;
    refusal_.clear();
    wasOpen_ = false;
    closing_ = false;
    active_ = true;
    QNetworkRequest request(url_);
    if (!userAgent_.isEmpty())
        request.setHeader(QNetworkRequest::UserAgentHeader, userAgent_);
    if (!credential.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + credential);
    if (watchdog_.interval() > 0)
        watchdog_.start(); // also bounds a handshake that never completes
    socket_.open(request);
}

void NodeSocket::close() {
    if (!active_ || closing_)
        return;
    closing_ = true;
    watchdog_.stop();
    keepalive_.stop();
    if (socket_.state() == QAbstractSocket::ConnectedState) {
        socket_.close(QWebSocketProtocol::CloseCodeNormal);
        closeWait_.start(kCloseWaitMs);
        return;
    }
    socket_.abort();
    // Queued: close() may run inside a handler of ours, and the caller may act on ended() at once.
    QTimer::singleShot(0, this, [this] {
        if (closing_)
            end(Ending{});
    });
}

void NodeSocket::abort() {
    active_ = false;
    closing_ = false;
    watchdog_.stop();
    keepalive_.stop();
    closeWait_.stop();
    if (socket_.state() != QAbstractSocket::UnconnectedState)
        socket_.abort();
}

bool NodeSocket::isOpen() const {
    return active_ && !closing_ && wasOpen_ && socket_.state() == QAbstractSocket::ConnectedState;
}

bool NodeSocket::send(const QByteArray& json) {
    if (!isOpen())
        return false;
    socket_.sendTextMessage(QString::fromUtf8(json));
    return true;
}

void NodeSocket::onConnected() {
    if (!active_)
        return;
    wasOpen_ = true;
    if (keepalive_.interval() > 0)
        keepalive_.start();
    Q_EMIT opened();
}

void NodeSocket::onDisconnected() {
    if (!active_)
        return;
    end(closing_ ? Ending{} : classify());
}

void NodeSocket::onSocketError() {
    // After the handshake, the disconnect that follows tells the story (code and reason).
    if (!active_ || closing_ || wasOpen_)
        return;
    end(classify());
}

void NodeSocket::onText(const QString& text) {
    if (!active_ || closing_)
        return;
    if (watchdog_.interval() > 0)
        watchdog_.start();
    const QByteArray frame = text.toUtf8();
    auto decoded = admin::decodeEvent(frame);
    if (const auto* error = std::get_if<Error>(&decoded))
        return Q_EMIT undecodable(*error, frame);
    const auto& event = std::get<std::variant<admin::AdminEvent, ServerMessage>>(decoded);
    if (const auto* adminEvent = std::get_if<admin::AdminEvent>(&event))
        return Q_EMIT adminEventReceived(*adminEvent);
    const ServerMessage& message = std::get<ServerMessage>(event);
    // A refused credential is told twice: an error event, then close 4001 (its reason may be cut
    // to fit a close frame). Keep the event's text for the ending.
    if (const auto* e = std::get_if<ErrorEvent>(&message);
        e && e->error.code == ErrorCode::Unauthorized)
        refusal_ = e->error.message;
    Q_EMIT received(message, frame);
}

Ending NodeSocket::classify() const {
    Ending ending;
    ending.wasOpen = wasOpen_;
    if (wasOpen_) {
        ending.closeCode = socket_.closeCode();
        ending.closeReason = socket_.closeReason();
        // Qt 6.4 only accepts the close codes of RFC 6455's first list: one it does not know,
        // such as a draining node's 1012, is read as 1002 with the reason "Invalid close code
        // 1002 detected." (the server's code and reason are lost). Say so instead of "1002".
        const QRegularExpression unreadable(QStringLiteral("^Invalid close code \\d+ detected"));
        if (ending.closeCode == QWebSocketProtocol::CloseCodeProtocolError &&
            unreadable.match(ending.closeReason).hasMatch()) {
            ending.closeCode = 0;
            ending.closeReason.clear();
        }
        if (ending.closeCode == close_code::kUnauthorized) {
            ending.kind = Ending::Kind::TokenRefused;
            ending.detail = refusal_.isEmpty() ? ending.closeReason : refusal_;
        } else {
            ending.kind = Ending::Kind::Closed;
        }
        return ending;
    }
    QString detail = socket_.errorString();
    if (detail.startsWith(QLatin1String("QWebSocketPrivate::")))
        detail = detail.section(QStringLiteral(": "), 1); // Qt names its internals in the text
    ending.kind = Ending::Kind::Unreachable;
    ending.detail = detail;
    if (detail.isEmpty() || detail == QLatin1String("Unknown error")) {
        ending.detail = QStringLiteral("the connection closed before the WebSocket handshake");
    } else if (detail.contains(QLatin1String("status code"), Qt::CaseInsensitive) ||
               detail.contains(QLatin1String("handshake"), Qt::CaseInsensitive)) {
        // An HTTP answer other than 101 arrives as an error too, but the server did answer:
        // that is a refusal, not an unreachable server.
        ending.kind = Ending::Kind::Refused;
        const QRegularExpression status(QStringLiteral("status code:? *(\\d{3})"),
                                        QRegularExpression::CaseInsensitiveOption);
        if (const auto match = status.match(detail); match.hasMatch())
            ending.httpStatus = match.captured(1).toInt();
    }
    return ending;
}

void NodeSocket::end(Ending ending) {
    if (!active_)
        return;
    active_ = false;
    closing_ = false;
    watchdog_.stop();
    keepalive_.stop();
    closeWait_.stop();
    if (socket_.state() != QAbstractSocket::UnconnectedState)
        socket_.abort();
    Q_EMIT ended(ending);
}

} // namespace herald::client
