#pragma once

#include "server/ClientTransport.h"
#include "shared/Messages.h"

#include <QString>
#include <memory>

namespace herald {

class Hub;

// Who is on the other end, decided once at connect time.
struct Identity {
    enum class Role { Anonymous, User, Admin };
    Role role = Role::Anonymous;
    QString user;         // JWT "sub" for Role::User; the admin token's name for Role::Admin
    qint64 expiresAt = 0; // token expiry (seconds since epoch), 0 when none
};

// One client connection: decodes its frames through the shared codec and turns them into Hub
// calls; sends what the Hub gives it, closing the connection when its outbound queue overflows.
class Session {
public:
    Session(quint64 id, Identity identity, std::unique_ptr<ClientTransport> transport, Hub& hub,
            qint64 nowMs);

    quint64 id() const { return id_; }
    const Identity& identity() const { return identity_; }
    const QString& sessionName() const { return name_; }
    ClientTransport& transport() { return *transport_; }

    void onText(QByteArrayView frame, qint64 nowMs);
    void onBinary(qint64 nowMs);
    void onActivity(qint64 nowMs) { lastActivityMs_ = nowMs; }
    qint64 lastActivityMs() const { return lastActivityMs_; }

    // Queues a shared frame; false (and the connection closing) when the client is too slow.
    bool send(const Frame& frame);
    void sendEvent(const ServerMessage& message);
    void sendError(ErrorCode code, const QString& message, const QString& stream = {});
    void close(int code, const QString& reason);
    bool isClosing() const { return closing_; }

private:
    quint64 id_;
    QString name_;
    Identity identity_;
    std::unique_ptr<ClientTransport> transport_;
    Hub& hub_;
    qint64 lastActivityMs_;
    bool closing_ = false;
};

} // namespace herald
