#pragma once

#include <QString>

namespace herald {

// How a Session's bytes reach its client. QWebSocket is behind it today (WebSocketTransport);
// a leaner RFC 6455 path can replace it without touching protocol logic, and unit tests use a
// recording fake.
class ClientTransport {
public:
    virtual ~ClientTransport() = default;
    // `frame` is a complete JSON text message, encoded once and shared by every recipient.
    virtual void sendText(const QString& frame) = 0;
    virtual void ping() = 0;
    // Starts the closing handshake; the Hub hears of the end through Session::onClosed.
    virtual void close(int code, const QString& reason) = 0;
    // Bytes accepted by sendText but not yet written to the network.
    virtual qint64 pendingBytes() const = 0;
    virtual QString peer() const = 0;
};

} // namespace herald
