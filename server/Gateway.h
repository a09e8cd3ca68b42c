#pragma once

#include "server/Authenticator.h"
#include "server/EdgePolicy.h"
#include "server/HttpConnection.h"
#include "server/Listener.h"
#include "server/OutboundQueue.h"
#include "server/TlsCredentials.h"

#include <QObject>
#include <QTimer>
#include <functional>
#include <optional>

namespace herald {

class Hub;
class WorkerPool;

// Accepts TCP connections on the one port, parses HTTP, and either hands a request to the HTTP
// handler or answers a WebSocket upgrade itself: the handshake is checked and answered from the
// request already parsed here, and a refused connection costs no more than the bytes that tell
// the client why. Knows nothing of brokers.
class Gateway : public QObject {
    Q_OBJECT
public:
    using HttpHandler = std::function<void(const HttpRequest&, std::function<void(HttpResponse)>)>;

    // With `tls`, the port speaks only https:// and wss://.
    // `batcher` writes the connections' frames; it must outlive every session (the Node owns it).
    // With `workers`, the connections go to worker threads instead (the batcher is unused).
    Gateway(const Config& config, Hub& hub, WriteBatcher& batcher, WorkerPool* workers,
            const Authenticator& auth, HttpHandler httpHandler, std::optional<TlsCredentials> tls,
            QObject* parent = nullptr);

    bool listen(QString* error);
    QHostAddress address() const { return server_.serverAddress(); }
    quint16 port() const { return server_.serverPort(); }
    bool isListening() const { return server_.isListening(); }
    // Stops taking new connections (shutdown, drain); open ones are left to the caller.
    void stopAccepting();
    // Draining: HTTP still answers (/readyz says 503), new WebSockets are refused with 1012.
    void setDraining(bool draining) { draining_ = draining; }

    bool isTls() const { return tls_.has_value(); }
    // SIGHUP: reads tls_cert, tls_key and tls_ca again. New connections get the new certificate,
    // open ones keep theirs. Files that do not load leave the current certificate in use (the
    // reason is logged as an error); false then.
    bool reloadTls();

private:
    void acceptPending();
    void adopt(QTcpSocket* socket);
    void useCredentials(TlsCredentials credentials, const char* what);
    void warnIfExpiring();
    void onUpgradeRequested(HttpConnection* connection, const HttpRequest& request);
    // Why a well-formed upgrade may not proceed (before any credential is looked at).
    std::optional<std::pair<int, Error>> admissionRefusal(const HttpRequest& request);
    void accept(HttpConnection* connection, const HttpRequest& request, Identity identity);
    // Completes the handshake, then sends the error event and a close frame with `closeCode`.
    void refuse(HttpConnection* connection, const HttpRequest& request, int closeCode,
                const Error& error);

    const Config& config_;
    Hub& hub_;
    WriteBatcher& batcher_;
    WorkerPool* workers_;
    const Authenticator& auth_;
    HttpHandler httpHandler_;
    Listener server_;
    std::optional<TlsCredentials> tls_;
    QTimer expiryTimer_;
    OriginPolicy origins_;
    SourceLimiter limiter_;
    QTimer pruneTimer_;
    bool draining_ = false;
};

} // namespace herald
