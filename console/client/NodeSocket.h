#pragma once

#include "shared/Admin.h"

#include <QObject>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

// The one WebSocket connection to a node that heraldctl and the console share: the URL rules,
// the credential, the decoding of what the node sends and the reading of how a connection ended.
// Policies (reconnecting, what to subscribe to, when to give up) belong to its users.
namespace herald::client {

// How a connection ended, classified in one place so every client says the same thing.
struct Ending {
    enum class Kind {
        Unreachable,  // no WebSocket came up: connection refused, no route, TLS, no answer
        Refused,      // the server answered the handshake with an HTTP status other than 101
        TokenRefused, // accepted, then closed with 4001: the credential was refused
        Closed,       // closed by the server (or lost) after the handshake
        Silent,       // nothing received within the silence limit; dropped here
        Local,        // closed by close() on this side
    };
    Kind kind = Kind::Local;
    bool wasOpen = false;   // the WebSocket handshake had completed
    int httpStatus = 0;     // Refused: the status the server answered with, when known
    int closeCode = 0;      // TokenRefused, Closed; 0: a code Qt could not read
    QString closeReason;    // TokenRefused, Closed
    QString detail;         // Unreachable, Refused: the error; TokenRefused: the server's reason
    int silenceLimitMs = 0; // Silent

    // One line for a person, e.g. "cannot reach ws://127.0.0.1:1/public: Connection refused".
    QString describe(const QString& where) const;
};

class NodeSocket : public QObject {
    Q_OBJECT
public:
    explicit NodeSocket(QObject* parent = nullptr);
    ~NodeSocket() override;

    // The WebSocket URL of `endpoint` ("/public", "/private", "/admin") on `server`, given in any
    // form serverurl::normalise accepts (a query is dropped); empty when it is no server address.
    static QUrl urlFor(const QUrl& server, const QString& endpoint);

    void setUserAgent(const QString& userAgent) { userAgent_ = userAgent; }
    // No frame at all for this long (handshake included): drop the connection (Ending::Silent).
    // 0 (the default): no limit.
    void setSilenceLimit(int ms);
    // Sends a ping this often while open, so a quiet but healthy node still answers. 0: none.
    void setKeepalive(int ms);

    // Connects; the credential goes in "Authorization: Bearer", which every endpoint accepts and
    // which, unlike ?token=, stays out of proxy and server access logs. Ends an earlier
    // connection silently.
    void open(const QUrl& url, const QByteArray& credential);
    // Closes with a close frame and waits (bounded) for the node's answer; then ended(Local).
    void close();
    // Drops the connection at once; no ended() for it.
    void abort();

    bool isOpen() const;
    QUrl url() const { return url_; }
    // Sends one JSON text frame; false (nothing sent) while not open.
    bool send(const QByteArray& json);

Q_SIGNALS:
    void opened(); // the WebSocket handshake completed (the node may still refuse the credential)
    void received(const herald::ServerMessage& message, const QByteArray& frame);
    void adminEventReceived(const herald::admin::AdminEvent& event);
    void undecodable(const herald::Error& error, const QByteArray& frame);
    // Once per open(): how the connection ended (or why it never came up).
    void ended(const herald::client::Ending& ending);

private:
    void onConnected();
    void onDisconnected();
    void onSocketError();
    void onText(const QString& text);
    void end(Ending ending);
    Ending classify() const;

    QWebSocket socket_;
    QTimer watchdog_;
    QTimer keepalive_;
    QTimer closeWait_;
    QUrl url_;
    QString userAgent_;
    QString refusal_;     // the server's "unauthorized" message, read before its 4001 close
    bool active_ = false; // an open() whose ended() is still due
    bool wasOpen_ = false;
    bool closing_ = false;
};

} // namespace herald::client

Q_DECLARE_METATYPE(herald::client::Ending)
