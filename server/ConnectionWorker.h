#pragma once

#include "server/Frame.h"
#include "server/OutboundQueue.h"
#include "server/WebSocketTransport.h"

#include <QMutex>
#include <QObject>
#include <atomic>
#include <unordered_set>
#include <variant>
#include <vector>

class QTcpSocket;

namespace herald {

// A connection that a worker thread owns, as the main thread refers to it. Made by the main
// thread, deleted by the worker when it carries out the Release order (the last order about the
// link). A cache line of its own: the worker updates `pending` on every write while the main
// thread works next to it.
struct alignas(64) WorkerLink {
    WebSocketTransport* connection = nullptr; // the worker's alone
    // Bytes the worker holds for the socket, not yet taken by the kernel (as it last saw them).
    std::atomic<qint64> pending{0};
};

// What the main thread tells a worker. A worker carries out its orders in the order given, so a
// connection's frames, close and release arrive as the main thread sent them.
namespace order {
struct Adopt {
    WorkerLink* link;
    // A TLS connection keeps its socket, which already belongs to the worker's thread; a plain
    // one comes as its bare descriptor (socket null), so that no object has to change threads.
    QTcpSocket* socket;
    int fd;
    QByteArray handshake;
    QByteArray firstBytes;
};
struct Start { // handlers run on the main thread
    WorkerLink* link;
    WebSocketTransport::Handlers handlers;
};
struct Send { // one frame for every link in `links`
    Frame frame;
    std::vector<WorkerLink*> links;
};
struct Ping {
    WorkerLink* link;
};
struct Close {
    WorkerLink* link;
    int code;
    QString reason;
};
struct Release {
    WorkerLink* link;
};
} // namespace order
using WorkerOrder = std::variant<order::Adopt, order::Start, order::Send, order::Ping, order::Close,
                                 order::Release>;

// A share of the node's WebSocket connections, in a thread of its own (moved there by
// WorkerPool): it reads and decodes their frames and writes what the main thread sends them,
// batched once per pass of its own event loop. Orders arrive in batches with one wake-up each;
// inbound events go back to the main thread as queued calls on `mainContext`.
class ConnectionWorker final : public QObject {
    Q_OBJECT
public:
    ConnectionWorker(QObject* mainContext, qint64 maxMessageBytes);

    // Main thread: appends `orders` (left empty) to the inbox, waking the worker if it was idle.
    void give(std::vector<WorkerOrder>& orders);
    // The worker's thread, last: carries out what is left, closes every connection still open,
    // and deletes itself when the thread ends.
    void stop();

private:
    void drain();
    void carryOut(order::Adopt& adopt);
    void carryOut(order::Start& start);
    void carryOut(order::Send& send);
    void carryOut(order::Ping& ping);
    void carryOut(order::Close& close);
    void carryOut(order::Release& release);

    QObject* mainContext_;
    qint64 maxMessageBytes_;
    WriteBatcher batcher_{this};
    QMutex inboxMutex_;
    std::vector<WorkerOrder> inbox_; // guarded by inboxMutex_
    std::vector<WorkerOrder> work_;  // the batch being carried out (swapped with inbox_)
    std::unordered_set<WorkerLink*> links_;
};

} // namespace herald
