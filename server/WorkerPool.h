#pragma once

#include "server/ClientTransport.h"
#include "server/ConnectionWorker.h"

#include <QObject>
#include <QThread>
#include <memory>
#include <vector>

class QTcpSocket;

namespace herald {

// The worker threads that own the node's WebSocket connections, seen from the main thread. The
// main thread keeps the sessions, the routing, HTTP and the broker link; what it sends a worker's
// connections is staged here and handed over once per pass of the main loop, one batch and one
// wake-up per worker. A message for many recipients becomes one order per worker carrying the
// frame once (a copy of its own) and the list of recipients, so the main thread's cost per
// recipient is a pointer in a list, and the threads never share a reference count.
class WorkerPool final : public QObject {
    Q_OBJECT
public:
    WorkerPool(int workers, qint64 maxMessageBytes, QObject* parent = nullptr);
    // Hands over what is staged, closes every connection the workers still hold and joins the
    // threads. Every transport from adopt() must be gone first.
    ~WorkerPool() override;

    int size() const { return static_cast<int>(slots_.size()); }
    // Open connections per worker.
    std::vector<qint64> connectionsPerWorker() const;

    // Gives an upgraded socket (its 101 answer not yet written) to the worker with the fewest
    // connections: a TLS one as it is, a plain one as its bare descriptor (the socket is deleted
    // later, see RawWebSocketConnection::takeDescriptor). The returned transport writes through
    // that worker; `start` begins reading, with handlers that run on this (the main) thread.
    struct Adopted {
        std::unique_ptr<ClientTransport> transport;
        std::function<void(WebSocketTransport::Handlers)> start;
    };
    Adopted adopt(QTcpSocket* socket, QByteArray handshake, QByteArray firstBytes,
                  qint64 maxOutboundBytes);

    // For WorkerTransport.
    void stage(int worker, WorkerOrder order);
    void stageSend(int worker, WorkerLink* link, const Frame& frame);
    void released(int worker) { --slots_[static_cast<size_t>(worker)]->connections; }

private:
    struct Slot {
        QThread thread;
        ConnectionWorker* worker = nullptr; // lives in `thread`, deletes itself when it ends
        std::vector<WorkerOrder> staged;
        qint64 connections = 0;
        bool eager = true; // the first fan-out of this pass may still go early
    };
    // How many recipients of a fan-out a worker gets before the rest are staged.
    static constexpr size_t kEagerRecipients = 32;
    void scheduleHandOff();
    void handOff();
    void give(Slot& slot);

    std::vector<std::unique_ptr<Slot>> slots_;
    bool handOffPosted_ = false;
};

// A Session's transport for a connection that a worker owns: every call becomes an order.
class WorkerTransport final : public ClientTransport {
public:
    WorkerTransport(WorkerPool& pool, int worker, WorkerLink* link, qint64 exactAbove)
        : pool_(pool)
        , worker_(worker)
        , link_(link)
        , exactAbove_(exactAbove) {}
    ~WorkerTransport() override;

    void send(const Frame& frame) override;
    void ping() override;
    void close(int code, const QString& reason) override;
    // An upper bound (the worker's last figure plus what was sent since) while that is at most
    // `exactAbove`; the worker's figure beyond. Reading the worker's figure for every recipient
    // of a fan-out would pull a cache line per connection from the other core.
    qint64 pendingBytes() const override;

private:
    WorkerPool& pool_;
    int worker_;
    WorkerLink* link_;
    qint64 exactAbove_;
    mutable qint64 seen_ = 0;      // the worker's figure when last read
    mutable qint64 sentSince_ = 0; // bytes sent since
};

} // namespace herald
