#pragma once

#include "server/HttpRequestParser.h"
#include "shared/Errors.h"

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrlQuery>
#include <optional>

class QTcpSocket;

namespace herald {

struct HttpResponse {
    int status = 200;
    QByteArray contentType = "application/json";
    QByteArray body;
    QList<QPair<QByteArray, QByteArray>> headers;

    static HttpResponse json(int status, const QByteArray& body);
    static HttpResponse error(int status, const Error& error);
};

// One HTTP/1.1 connection, parsed by Debian's libhttp-parser. Requests are answered in order
// (the parser is paused while one is being answered); the first request may instead ask for a
// WebSocket upgrade: the receiver of upgradeRequested() then either answers it (an error, the
// connection closes after it), refuses it with raw bytes (refuseUpgrade) or takes the socket
// together with whatever the client sent after the request head (takeUpgrade).
class HttpConnection : public QObject {
    Q_OBJECT
public:
    struct Limits {
        qint64 maxHeadBytes;
        qint64 maxBodyBytes;
        int timeoutMs; // for each request to arrive in full, and for keep-alive idleness
    };

    HttpConnection(QTcpSocket* socket, Limits limits, QObject* parent = nullptr);
    ~HttpConnection() override;

    // Answers the current request and resumes reading.
    void respond(const HttpResponse& response);
    struct Upgrade {
        QTcpSocket* socket;
        QByteArray firstBytes; // what arrived after the request head: the first frames
    };
    // Gives the socket away to become a WebSocket; this object deletes itself.
    Upgrade takeUpgrade();
    // Writes `bytes` (a handshake followed by an error and a close frame), then closes.
    void refuseUpgrade(const QByteArray& bytes);

    // How long a closing connection may keep sending before it is cut off.
    static constexpr int kLingerMs = 2000;

Q_SIGNALS:
    void requestReady(const herald::HttpRequest& request);
    void upgradeRequested(const herald::HttpRequest& request);
    // A request was refused before reaching a handler (malformed, too large, too slow).
    void protocolError(herald::ErrorCode code);

private:
    void readMore();
    void feed();
    void fail(int status, const Error& error);
    void closeSoon();
    void upgradeWhenFlushed();

    QTcpSocket* socket_;
    Limits limits_;
    HttpRequestParser parser_;
    QTimer timer_;
    QByteArray pending_; // bytes read but not yet parsed (a request is being answered)
    std::optional<HttpRequest> heldUpgrade_; // waits for earlier answers to leave the socket
    QMetaObject::Connection flushWait_;
    bool answering_ = false;
    bool closing_ = false;
    bool failed_ = false; // answered with an error: close after it
};

} // namespace herald
