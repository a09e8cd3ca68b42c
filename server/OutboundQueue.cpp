#include "server/OutboundQueue.h"

#include <QSslSocket>
#include <QTcpSocket>
#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>

namespace herald {
namespace {
constexpr int kMaxIov = 64; // frames per system call
}

void WriteBatcher::schedule(OutboundQueue* queue) {
    if (queue->dirtyIndex_ >= 0)
        return;
    // flushAll() also ends the pass for the eager writes: it is posted by them too.
    if (!posted_) {
        posted_ = true;
        QMetaObject::invokeMethod(this, &WriteBatcher::flushAll, Qt::QueuedConnection);
    }
    if (eagerLeft_ > 0) {
        --eagerLeft_;
        if (queue->writeAllNow())
            return;
    }
    queue->dirtyIndex_ = static_cast<int>(dirty_.size());
    dirty_.push_back(queue);
}

void WriteBatcher::cancel(OutboundQueue* queue) {
    if (queue->dirtyIndex_ >= 0)
        dirty_[static_cast<size_t>(queue->dirtyIndex_)] = nullptr;
    queue->dirtyIndex_ = -1;
}

void WriteBatcher::flushAll() {
    posted_ = false;
    eagerLeft_ = kEagerWrites;
    std::vector<OutboundQueue*> batch;
    batch.swap(dirty_);
    for (OutboundQueue* queue : batch) {
        if (!queue)
            continue; // gone since it was scheduled
        queue->dirtyIndex_ = -1;
        queue->flush();
    }
}

OutboundQueue::OutboundQueue(QTcpSocket* socket, WriteBatcher& batcher, QObject* parent)
    : QObject(parent)
    , socket_(socket)
    , fd_(static_cast<int>(socket->socketDescriptor()))
    , batcher_(batcher)
    , viaQt_(qobject_cast<QSslSocket*>(socket) != nullptr) {
    if (viaQt_)
        connect(socket_, &QTcpSocket::bytesWritten, this, [this] {
            publishPending();
            if (socket_->bytesToWrite() == 0)
                drained();
        });
}

OutboundQueue::OutboundQueue(int fd, WriteBatcher& batcher, QObject* parent)
    : QObject(parent)
    , socket_(nullptr)
    , fd_(fd)
    , batcher_(batcher) {}

OutboundQueue::~OutboundQueue() {
    batcher_.cancel(this);
}

void OutboundQueue::stop() {
    // The descriptor is closed (or about to be): its number may soon belong to another
    // connection, so nothing may be written to it again.
    fd_ = -1;
    batcher_.cancel(this);
    writable_.reset();
    frames_ = {};
    queuedBytes_ = headOffset_ = 0;
    publishPending();
}

void OutboundQueue::push(QByteArray bytes) {
    if (fd_ < 0)
        return;
    if (viaQt_) {
        socket_->write(bytes);
    } else {
        queuedBytes_ += bytes.size();
        frames_.push_back(std::move(bytes));
        if (!writable_ || !writable_->isEnabled())
            batcher_.schedule(this);
    }
    publishPending();
}

qint64 OutboundQueue::pending() const {
    if (viaQt_) {
        // Qt encrypts a TLS socket's queue into its TCP socket's buffer at once: count both.
        const auto* tls = static_cast<const QSslSocket*>(socket_);
        return tls->bytesToWrite() + tls->encryptedBytesToWrite();
    }
    return queuedBytes_ - headOffset_;
}

void OutboundQueue::whenDrained(std::function<void()> then) {
    onDrained_ = std::move(then);
    if (pending() == 0)
        drained();
}

void OutboundQueue::drained() {
    if (auto then = std::exchange(onDrained_, nullptr))
        then();
}

bool OutboundQueue::writeAllNow() {
    if (fd_ < 0 || viaQt_ || onDrained_ || frames_.size() != 1 || headOffset_ != 0)
        return false;
    const QByteArray& frame = frames_.front();
    const ssize_t written = ::send(fd_, frame.constData(), static_cast<size_t>(frame.size()),
                                   MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written <= 0)
        return false; // full, or an error flush() will meet and report
    if (written < frame.size()) {
        headOffset_ = written;
        return false;
    }
    queuedBytes_ -= frame.size();
    frames_.pop_front();
    return true;
}

void OutboundQueue::flush() {
    flushFrames();
    publishPending();
}

void OutboundQueue::flushFrames() {
    const int fd = fd_;
    while (!frames_.empty() && fd >= 0) {
        iovec iov[kMaxIov];
        int count = 0;
        qint64 offered = 0;
        for (auto it = frames_.cbegin(); it != frames_.cend() && count < kMaxIov; ++it, ++count) {
            const qsizetype skip = count == 0 ? headOffset_ : 0;
            iov[count].iov_base = const_cast<char*>(it->constData() + skip);
            iov[count].iov_len = static_cast<size_t>(it->size() - skip);
            offered += it->size() - skip;
        }
        msghdr message{};
        message.msg_iov = iov;
        message.msg_iovlen = static_cast<size_t>(count);
        const ssize_t written = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            stop();
            Q_EMIT failed(); // reset by the peer: reading will see the end too
            return;
        }
        qint64 left = written;
        while (left > 0) {
            const qint64 rest = frames_.front().size() - headOffset_;
            if (left < rest) {
                headOffset_ += left;
                break;
            }
            left -= rest;
            queuedBytes_ -= frames_.front().size();
            frames_.pop_front();
            headOffset_ = 0;
        }
        if (written < offered)
            break; // the kernel's buffer is full: wait until it is writable again
    }
    if (fd < 0)
        return;
    if (frames_.empty()) {
        if (writable_)
            writable_->setEnabled(false);
        drained();
        return;
    }
    if (!writable_) {
        writable_ = std::make_unique<QSocketNotifier>(fd_, QSocketNotifier::Write);
        connect(writable_.get(), &QSocketNotifier::activated, this, &OutboundQueue::flush);
    }
    writable_->setEnabled(true);
}

} // namespace herald
