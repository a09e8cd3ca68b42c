#pragma once

#include "server/OutboundQueue.h"
#include "server/WebSocketTransport.h"
#include "server/WsCodec.h"

#include <QSocketNotifier>

class QTcpSocket;

namespace herald {

// One accepted plain-TCP WebSocket (the 101 answer not yet written) on its bare descriptor: the
// QTcpSocket that accepted it is gone (takeDescriptor()), so a connection costs one read
// notifier, its OutboundQueue and the decoder instead of a socket, its engine, notifiers and
// buffers. Behaves as WebSocketConnection does: answers pings, echoes the peer's close and then
// closes, answers a protocol error with a close frame and a shutdown after the flush, cuts a
// peer that does not answer its close within kCloseTimeoutMs (one timer per thread, through the
// batcher's CloseDeadlines), and reports `closed` once, from the event loop. Lives and dies in
// the thread that made it.
class RawWebSocketConnection final : public WebSocketTransport {
public:
    // Owns `fd` (non-blocking, connected; -1 gives a connection that reports closed at start).
    RawWebSocketConnection(int fd, WriteBatcher& batcher, QByteArray handshake,
                           QByteArray firstBytes, qint64 maxMessageBytes);
    ~RawWebSocketConnection() override;
    RawWebSocketConnection(const RawWebSocketConnection&) = delete;
    RawWebSocketConnection& operator=(const RawWebSocketConnection&) = delete;

    // Takes the connection's descriptor out of `socket`, which is aborted and deleted later
    // (the caller may be inside one of its signals). What it had read and not handed out is
    // appended to `unread`. Returns a descriptor of its own (-1 if none could be had).
    static int takeDescriptor(QTcpSocket* socket, QByteArray& unread);

    void start(Handlers handlers) override;
    void mirrorPendingTo(std::atomic<qint64>* mirror) override { out_.mirrorPendingTo(mirror); }

    void send(const Frame& frame) override;
    void ping() override;
    void close(int code, const QString& reason) override;
    qint64 pendingBytes() const override;

private:
    void readAvailable();
    void handle(ws::Event& event);
    void sendClose(int code, QByteArrayView reason);
    void startCloseTimer();
    void cut(); // closes the descriptor and reports the connection closed
    void reportClosed();
    void deliverClosed(); // once, and only to a handler that start() gave

    int fd_;
    CloseDeadlines& deadlines_;
    // Created here, so in the owning thread; also the context of the queued calls, so none runs
    // after the connection is gone.
    QSocketNotifier readable_{QSocketNotifier::Read};
    OutboundQueue out_;
    ws::FrameDecoder decoder_;
    Handlers handlers_;
    quint64 closeTicket_ = 0; // in the batcher's CloseDeadlines, 0 when none
    bool closeSent_ = false;
    bool reported_ = false;
    bool closedDelivered_ = false;
};

} // namespace herald
