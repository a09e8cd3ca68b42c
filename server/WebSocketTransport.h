#pragma once

#include "server/ClientTransport.h"

#include <QPointer>

class QWebSocket;

namespace herald {

// ClientTransport over a QWebSocket. Owns the socket: it is deleted (later) with the transport.
class WebSocketTransport final : public ClientTransport {
public:
    explicit WebSocketTransport(QWebSocket* socket);
    ~WebSocketTransport() override;

    void sendText(const QString& frame) override;
    void ping() override;
    void close(int code, const QString& reason) override;
    qint64 pendingBytes() const override;
    QString peer() const override;

    // How long a peer may take to answer our close frame before the socket is aborted.
    static constexpr int kCloseTimeoutMs = 5000;

private:
    QPointer<QWebSocket> socket_;
};

} // namespace herald
