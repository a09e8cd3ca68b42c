#pragma once

#include <QSslConfiguration>
#include <QTcpServer>
#include <optional>

class QSslSocket;
class QTimer;

namespace herald {

// The node's listening socket. Without TLS, connections go through QTcpServer's pending queue.
// With TLS, each connection first completes its handshake here and is then handed over by
// encrypted(); a handshake that fails or does not finish within the timeout is closed and
// deleted here, so nothing of it reaches the rest of the node. Handshakes are driven by the
// event loop (never waited for). A client that speaks plain HTTP to the TLS port gets a 400
// saying so, as nginx does, rather than a TLS alert it cannot read.
//
// Qt gives each server-side TLS socket its own OpenSSL context, about 60 KB. So TLS starts only
// once the client's whole first record (its ClientHello) has arrived: until then a connection
// costs a few hundred bytes, and a client that trickles a partial hello or hangs up half-way
// never makes the node build that state.
class Listener : public QTcpServer {
    Q_OBJECT
public:
    explicit Listener(QObject* parent = nullptr);

    // What connections accepted from now on get; open connections keep the one they began with.
    void setTlsConfiguration(const QSslConfiguration& configuration) { tls_ = configuration; }
    bool isTls() const { return tls_.has_value(); }
    void setHandshakeTimeout(int ms) { handshakeTimeoutMs_ = ms; }

Q_SIGNALS:
    // A connection whose TLS handshake is complete; the receiver takes ownership.
    void encrypted(QSslSocket* socket);
    void handshakeFailed(QSslSocket* socket, const QString& why);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    void onFirstBytes(QSslSocket* socket, QTimer* timer);
    void answerPlainHttp(QSslSocket* socket, QTimer* timer);
    void succeed(QSslSocket* socket, QTimer* timer);
    void fail(QSslSocket* socket, QTimer* timer, const QString& why);

    std::optional<QSslConfiguration> tls_;
    int handshakeTimeoutMs_ = 10'000;
};

} // namespace herald
