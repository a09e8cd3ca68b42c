#include "server/RawWebSocketConnection.h"

#include <QTcpSocket>
#include <cerrno>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace herald {
namespace {
constexpr ssize_t kReadChunk = 16 * 1024;
constexpr int kReadsPerWakeUp = 4; // then the loop serves others (the notifier fires again)
} // namespace

int RawWebSocketConnection::takeDescriptor(QTcpSocket* socket, QByteArray& unread) {
    // Qt cannot let go of a descriptor: keep a duplicate of it (the same connection), then let
    // Qt close its own. abort() only closes that one; it neither shuts the connection down nor
    // lingers.
    const int original = static_cast<int>(socket->socketDescriptor());
    const int fd = original >= 0 ? ::fcntl(original, F_DUPFD_CLOEXEC, 0) : -1;
    if (socket->bytesAvailable() > 0)
        unread += socket->readAll();
    socket->abort();
    socket->deleteLater();
    return fd;
}

RawWebSocketConnection::RawWebSocketConnection(int fd, WriteBatcher& batcher, QByteArray handshake,
                                               QByteArray firstBytes, qint64 maxMessageBytes)
    : fd_(fd)
    , deadlines_(batcher.closeDeadlines())
    , out_(fd, batcher)
    , decoder_(maxMessageBytes) {
    out_.push(std::move(handshake));
    decoder_.feed(firstBytes);
    QObject::connect(&out_, &OutboundQueue::failed, &readable_, [this] { cut(); });
}

RawWebSocketConnection::~RawWebSocketConnection() {
    deadlines_.cancel(closeTicket_);
    out_.stop();
    readable_.setEnabled(false);
    if (fd_ >= 0)
        ::close(fd_);
}

void RawWebSocketConnection::start(Handlers handlers) {
    handlers_ = std::move(handlers);
    if (fd_ < 0)
        reportClosed(); // it went before there was a handler to tell
    if (reported_) {
        QMetaObject::invokeMethod(
            &readable_, [this] { deliverClosed(); }, Qt::QueuedConnection);
        return;
    }
    readable_.setSocket(fd_);
    QObject::connect(&readable_, &QSocketNotifier::activated, &readable_,
                     [this] { readAvailable(); });
    readable_.setEnabled(true);
    // Frames that arrived in the same packet as the handshake are decoded first, from the loop.
    QMetaObject::invokeMethod(
        &readable_, [this] { readAvailable(); }, Qt::QueuedConnection);
}

void RawWebSocketConnection::readAvailable() {
    bool ended = false;
    for (int i = 0; i < kReadsPerWakeUp && fd_ >= 0; ++i) {
        char chunk[kReadChunk];
        const ssize_t got = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
        if (got > 0) {
            decoder_.feed(QByteArrayView(chunk, got));
            if (got < kReadChunk)
                break;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        // The end of the stream, or a reset: what came before it is still handled first.
        ended = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        break;
    }
    for (ws::Event event = decoder_.next(); event.kind != ws::Event::Kind::None;
         event = decoder_.next())
        handle(event);
    if (ended)
        cut();
}

void RawWebSocketConnection::handle(ws::Event& event) {
    const auto outcome = dispatch(
        event, closeSent_, handlers_, [this](QByteArray bytes) { out_.push(std::move(bytes)); },
        [this](int code, QByteArrayView reason) { sendClose(code, reason); });
    if (outcome == FrameOutcome::PeerClosed) {
        out_.whenDrained([this] { cut(); });
    } else if (outcome == FrameOutcome::ProtocolError) {
        out_.whenDrained([this] {
            if (fd_ >= 0)
                ::shutdown(fd_, SHUT_WR);
        });
    }
    if (outcome != FrameOutcome::Continue)
        startCloseTimer();
}

void RawWebSocketConnection::send(const Frame& frame) {
    if (!closeSent_)
        out_.push(frame.bytes());
}

void RawWebSocketConnection::ping() {
    if (!closeSent_)
        out_.push(ws::encodeFrame(ws::Opcode::Ping, {}));
}

void RawWebSocketConnection::close(int code, const QString& reason) {
    if (closeSent_)
        return;
    sendClose(code, reason.toUtf8());
    // A peer that never answers the close frame must not hold the connection open.
    startCloseTimer();
}

void RawWebSocketConnection::sendClose(int code, QByteArrayView reason) {
    closeSent_ = true;
    out_.push(ws::encodeClose(code, reason));
}

void RawWebSocketConnection::startCloseTimer() {
    if (reported_)
        return;
    deadlines_.cancel(closeTicket_);
    closeTicket_ = deadlines_.add(kCloseTimeoutMs, [this] {
        closeTicket_ = 0;
        cut();
    });
}

void RawWebSocketConnection::cut() {
    out_.stop(); // before the descriptor's number can be another connection's
    readable_.setEnabled(false);
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    reportClosed();
}

void RawWebSocketConnection::reportClosed() {
    if (reported_)
        return;
    reported_ = true;
    out_.stop();
    deadlines_.cancel(std::exchange(closeTicket_, 0));
    QMetaObject::invokeMethod(
        &readable_, [this] { deliverClosed(); }, Qt::QueuedConnection);
}

void RawWebSocketConnection::deliverClosed() {
    if (closedDelivered_ || !handlers_.closed)
        return;
    closedDelivered_ = true;
    handlers_.closed();
}

qint64 RawWebSocketConnection::pendingBytes() const {
    return out_.pending();
}

} // namespace herald
