#pragma once

#include "server/Authenticator.h"
#include "server/HttpConnection.h"

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTcpServer>
#include <QWebSocketServer>
#include <functional>

namespace herald {

class Hub;

// Accepts TCP connections on the one port, parses HTTP, and either hands a request to the HTTP
// handler or upgrades it to a WebSocket Session. Knows nothing of brokers.
class Gateway : public QObject {
    Q_OBJECT
public:
    using HttpHandler = std::function<void(const HttpRequest&, std::function<void(HttpResponse)>)>;

    Gateway(const Config& config, Hub& hub, const Authenticator& auth, HttpHandler httpHandler,
            QObject* parent = nullptr);

    bool listen(QString* error);
    QHostAddress address() const { return server_.serverAddress(); }
    quint16 port() const { return server_.serverPort(); }
    bool isListening() const { return server_.isListening(); }
    // Stops taking new connections (shutdown, drain); open ones are left to the caller.
    void stopAccepting();
    // Draining: HTTP still answers (/readyz says 503), new WebSockets are refused with 1012.
    void setDraining(bool draining) { draining_ = draining; }

private:
    void acceptPending();
    void onUpgradeRequested(HttpConnection* connection, const HttpRequest& request);
    void onWebSocketReady();

    const Config& config_;
    Hub& hub_;
    const Authenticator& auth_;
    HttpHandler httpHandler_;
    QTcpServer server_;
    QWebSocketServer webSockets_;
    void refuse(QWebSocket* ws, int closeCode, const Error& error);
    static QString peerKey(const QHostAddress& address, quint16 port);

    // Handshakes handed to webSockets_ and not finished, by peer, with their deadlines; bounded
    // so a flood of half-open handshakes cannot take the node's memory.
    struct PendingUpgrade {
        QPointer<QTcpSocket> socket;
        qint64 deadlineMs;
    };
    QHash<QString, PendingUpgrade> upgrading_;
    bool draining_ = false;
    static constexpr int kMaxPendingHandshakes = 1024;
};

} // namespace herald
