#pragma once

#include "server/Frame.h"

#include <QString>

namespace herald {

// How a Session's bytes reach its client: WebSocketConnection on a socket, a recording fake in
// unit tests. Inbound events reach the Session through the Gateway, not through this seam.
class ClientTransport {
public:
    virtual ~ClientTransport() = default;
    // Queues a wire-ready frame, shared with every other recipient.
    virtual void send(const Frame& frame) = 0;
    virtual void ping() = 0;
    // Starts the closing handshake; the Gateway detaches the session once the socket is gone.
    virtual void close(int code, const QString& reason) = 0;
    // Bytes accepted by send() but not yet written to the network.
    virtual qint64 pendingBytes() const = 0;
};

} // namespace herald
