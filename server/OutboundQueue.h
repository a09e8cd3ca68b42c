#pragma once

#include "server/CloseDeadlines.h"

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QSocketNotifier>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

class QTcpSocket;

namespace herald {

class OutboundQueue;

// Flushes every connection that has something to send once per event-loop pass (as Redis and
// uWebSockets do): a message for 19,000 subscribers appends one shared frame to 19,000 queues,
// then each queue goes out in one system call. One batcher per thread.
//
// Except the first few of a pass: those are written at once, so a message's first recipients
// do not wait until its last ones are queued (the first of 19,000 had it ~9 ms late). A burst
// of messages in one pass costs at most kEagerWrites more system calls than batching alone.
class WriteBatcher : public QObject {
    Q_OBJECT
public:
    static constexpr int kEagerWrites = 32;

    explicit WriteBatcher(QObject* parent = nullptr)
        : QObject(parent) {}
    void schedule(OutboundQueue* queue);
    void cancel(OutboundQueue* queue);
    // The close timeouts of this thread's connections (one per thread, as this batcher, which
    // every connection already refers to).
    CloseDeadlines& closeDeadlines() { return closeDeadlines_; }

private:
    void flushAll();
    CloseDeadlines closeDeadlines_{this};
    std::vector<OutboundQueue*> dirty_;
    bool posted_ = false;
    int eagerLeft_ = kEagerWrites; // writes at once left in this pass
};

// What a connection still has to send: wire-ready frames shared with every other recipient (a
// reference, never a copy), written with one sendmsg() per flush. When the kernel takes less,
// the rest waits for the socket to become writable. A TLS socket is written through Qt instead
// (the bytes must be encrypted per connection anyway).
class OutboundQueue : public QObject {
    Q_OBJECT
public:
    // A connection that kept its QTcpSocket (a TLS one is written through Qt).
    OutboundQueue(QTcpSocket* socket, WriteBatcher& batcher, QObject* parent = nullptr);
    // A connection on a bare descriptor, which its owner closes (after stop()); -1: closed.
    OutboundQueue(int fd, WriteBatcher& batcher, QObject* parent = nullptr);
    ~OutboundQueue() override;

    void push(QByteArray bytes);
    // Bytes accepted and not yet taken by the kernel.
    qint64 pending() const;
    // Runs `then` once everything queued so far is written (at once if nothing is queued).
    void whenDrained(std::function<void()> then);
    // Writes what the kernel takes now (the batcher calls this once per loop pass).
    void flush();
    // The socket is closed: drop what is queued and never touch the descriptor again.
    void stop();
    // Keeps `mirror` equal to pending() for another thread to read (a connection that a worker
    // thread owns: the main thread checks its backlog there).
    void mirrorPendingTo(std::atomic<qint64>* mirror) {
        mirror_ = mirror;
        mirror_->store(pending(), std::memory_order_relaxed);
    }

Q_SIGNALS:
    // Writing failed (the peer reset the connection): the connection is gone.
    void failed();

private:
    friend class WriteBatcher;
    void drained();
    // Writes the queue now if it is one whole frame and nothing else is waiting: true when the
    // kernel took all of it. Never reports a failure nor runs the drained callback (it may run
    // in the middle of a fan-out); whatever it leaves is for flush().
    bool writeAllNow();
    void flushFrames();
    void publishPending() {
        if (mirror_)
            mirror_->store(pending(), std::memory_order_relaxed);
    }

    QTcpSocket* socket_; // null on a bare descriptor
    int fd_; // cached: reading it through the socket costs a cache miss per connection per flush
    WriteBatcher& batcher_;
    // A QList, not a std::deque: an empty deque still holds a 512-byte block, and an idle
    // connection's queue is empty (removing the first element of a QList is O(1) as well).
    QList<QByteArray> frames_;
    qsizetype headOffset_ = 0; // bytes of frames_.front() already written
    qint64 queuedBytes_ = 0;
    std::unique_ptr<QSocketNotifier> writable_;
    std::function<void()> onDrained_;
    std::atomic<qint64>* mirror_ = nullptr;
    int dirtyIndex_ = -1; // position in the batcher's list while a flush is due
    bool viaQt_ = false;
};

} // namespace herald
