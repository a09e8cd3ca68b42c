#include "server/Gateway.h"

#include "server/Hub.h"
#include "server/WebSocketTransport.h"
#include "shared/Codec.h"
#include "shared/Limits.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

Q_LOGGING_CATEGORY(lcGateway, "herald.gateway")

namespace herald {

Gateway::Gateway(const Config& config, Hub& hub, const Authenticator& auth, HttpHandler httpHandler,
                 QObject* parent)
    : QObject(parent)
    , config_(config)
    , hub_(hub)
    , auth_(auth)
    , httpHandler_(std::move(httpHandler))
    , webSockets_(QStringLiteral("herald"), QWebSocketServer::NonSecureMode) {
    // QTcpServer stops accepting once 30 connections wait to be fetched, and QWebSocketServer
    // queues at most 30 finished handshakes: both are drained at once below, with high limits.
    server_.setMaxPendingConnections(4096);
    server_.setListenBacklogSize(config_.listenBacklog);
    webSockets_.setMaxPendingConnections(4096);
    webSockets_.setHandshakeTimeout(std::chrono::milliseconds(config_.handshakeTimeoutMs));
    connect(&server_, &QTcpServer::pendingConnectionAvailable, this, &Gateway::acceptPending);
    connect(&webSockets_, &QWebSocketServer::newConnection, this, &Gateway::onWebSocketReady);
}

bool Gateway::listen(QString* error) {
    if (server_.listen(config_.listenAddress, config_.listenPort))
        return true;
    *error = QStringLiteral("cannot listen on %1:%2: %3")
                 .arg(config_.listenAddress.toString())
                 .arg(config_.listenPort)
                 .arg(server_.errorString());
    return false;
}

void Gateway::stopAccepting() {
    server_.close();
}

void Gateway::acceptPending() {
    const HttpConnection::Limits limits{kMaxHttpHeadBytes, config_.maxHttpBodyBytes,
                                        config_.handshakeTimeoutMs};
    while (QTcpSocket* socket = server_.nextPendingConnection()) {
        // Server-side sockets do not get TCP_NODELAY by default; small frames must not wait.
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        auto* connection = new HttpConnection(socket, limits, this);
        socket->setParent(connection);
        connect(connection, &HttpConnection::requestReady, this,
                [this, c = QPointer<HttpConnection>(connection)](const HttpRequest& request) {
                    httpHandler_(request, [c](const HttpResponse& response) {
                        if (c)
                            c->respond(response);
                    });
                });
        connect(connection, &HttpConnection::protocolError, this,
                [this](ErrorCode code) { hub_.metrics().countError(code); });
        connect(connection, &HttpConnection::upgradeRequested, this,
                [this, connection](const HttpRequest& request) {
                    onUpgradeRequested(connection, request);
                });
    }
}

QString Gateway::peerKey(const QHostAddress& address, quint16 port) {
    return address.toString() + QLatin1Char('|') + QString::number(port);
}

void Gateway::onUpgradeRequested(HttpConnection* connection, const HttpRequest& request) {
    if (!endpointForPath(request.path)) {
        connection->respond(HttpResponse::error(
            404, {ErrorCode::NotFound, QStringLiteral("no WebSocket endpoint at %1 (use /public, "
                                                      "/private or /admin)")
                                           .arg(request.path)}));
        return;
    }
    const qint64 now = hub_.nowMs();
    if (upgrading_.size() >= 64) {
        for (auto it = upgrading_.begin(); it != upgrading_.end();)
            it = (!it->socket || it->deadlineMs < now) ? upgrading_.erase(it) : std::next(it);
    }
    if (upgrading_.size() >= kMaxPendingHandshakes) {
        hub_.metrics().connectionsRefused++;
        hub_.metrics().countError(ErrorCode::Unavailable);
        HttpResponse busy =
            HttpResponse::error(503, {ErrorCode::Unavailable,
                                      QStringLiteral("too many handshakes in progress; retry")});
        busy.headers.append(qMakePair(QByteArray("Retry-After"), QByteArray("1")));
        connection->respond(busy);
        return;
    }
    QTcpSocket* socket = connection->takeSocket();
    upgrading_.insert(peerKey(socket->peerAddress(), socket->peerPort()),
                      {socket, now + config_.handshakeTimeoutMs + 1000});
    webSockets_.handleConnection(socket);
}

void Gateway::refuse(QWebSocket* ws, int closeCode, const Error& error) {
    // Accept-then-close lets every client, browsers included, read why: the error event and the
    // close code and reason. An HTTP status on the handshake would be hidden from a browser.
    hub_.metrics().connectionsRefused++;
    hub_.metrics().countError(error.code);
    qCInfo(lcGateway).noquote() << "refused" << ws->peerAddress().toString()
                                << ws->requestUrl().path() << ":" << error.message;
    ws->sendTextMessage(QString::fromUtf8(codec::encode(ErrorEvent{error, {}})));
    ws->close(static_cast<QWebSocketProtocol::CloseCode>(closeCode), error.message.left(120));
    connect(ws, &QWebSocket::disconnected, ws, &QObject::deleteLater);
    QTimer::singleShot(WebSocketTransport::kCloseTimeoutMs, ws, [ws] { ws->abort(); });
}

void Gateway::onWebSocketReady() {
    while (QWebSocket* ws = webSockets_.nextPendingConnection()) {
        upgrading_.remove(peerKey(ws->peerAddress(), ws->peerPort()));
        ws->setParent(nullptr);
        ws->setMaxAllowedIncomingMessageSize(static_cast<quint64>(config_.maxMessageBytes));
        ws->setMaxAllowedIncomingFrameSize(static_cast<quint64>(config_.maxMessageBytes));
        if (draining_) {
            refuse(ws, close_code::kServiceRestart,
                   {ErrorCode::Unavailable,
                    QStringLiteral("node is draining; reconnect to another node")});
            continue;
        }
        if (hub_.connectionCount() >= config_.maxConnections) {
            refuse(
                ws, close_code::kTryAgainLater,
                {ErrorCode::Unavailable, QStringLiteral("node is full (%1 connections); reconnect "
                                                        "to another node or later")
                                             .arg(config_.maxConnections)});
            continue;
        }
        const QUrl url = ws->requestUrl();
        const auto endpoint = endpointForPath(url.path());
        const QByteArray bearer = bearerCredential(ws->request().rawHeader("Authorization"));
        auto identity =
            auth_.authenticateClient(endpoint.value_or(Endpoint::Public), QUrlQuery(url), bearer,
                                     ws->peerAddress(), QDateTime::currentSecsSinceEpoch());
        if (auto* error = std::get_if<Error>(&identity)) {
            refuse(ws, close_code::kUnauthorized, *error);
            continue;
        }
        Session* session =
            hub_.attach(std::get<Identity>(identity), std::make_unique<WebSocketTransport>(ws));
        const quint64 id = session->id();
        Hub* hub = &hub_;
        auto now = [hub] { return hub->nowMs(); };
        connect(ws, &QWebSocket::textMessageReceived, ws, [hub, id, now](const QString& text) {
            if (Session* s = hub->session(id))
                s->onText(text.toUtf8(), now());
        });
        connect(ws, &QWebSocket::binaryMessageReceived, ws, [hub, id, now](const QByteArray&) {
            if (Session* s = hub->session(id))
                s->onBinary(now());
        });
        connect(ws, &QWebSocket::pong, ws, [hub, id, now](quint64, const QByteArray&) {
            if (Session* s = hub->session(id))
                s->onActivity(now());
        });
        // Queued: QWebSocket may report the disconnect from inside close() or a send, and the
        // session (and this socket's transport) must not be destroyed under its own feet.
        connect(
            ws, &QWebSocket::disconnected, hub, [hub, id] { hub->detach(id); },
            Qt::QueuedConnection);
    }
}

} // namespace herald
