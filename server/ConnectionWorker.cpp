#include "server/ConnectionWorker.h"

#include "server/RawWebSocketConnection.h"
#include "server/WebSocketConnection.h"

#include <QCoreApplication>
#include <QMutexLocker>
#include <QTcpSocket>
#include <openssl/crypto.h>

namespace herald {

ConnectionWorker::ConnectionWorker(QObject* mainContext, qint64 maxMessageBytes)
    : mainContext_(mainContext)
    , maxMessageBytes_(maxMessageBytes) {}

void ConnectionWorker::give(std::vector<WorkerOrder>& orders) {
    bool wake = false;
    {
        QMutexLocker lock(&inboxMutex_);
        // An inbox with orders in it already has a drain() on its way.
        wake = inbox_.empty();
        if (wake) {
            inbox_.swap(orders);
        } else {
            inbox_.insert(inbox_.end(), std::make_move_iterator(orders.begin()),
                          std::make_move_iterator(orders.end()));
        }
    }
    orders.clear();
    if (wake)
        QMetaObject::invokeMethod(this, &ConnectionWorker::drain, Qt::QueuedConnection);
}

void ConnectionWorker::drain() {
    {
        QMutexLocker lock(&inboxMutex_);
        work_.swap(inbox_);
    }
    for (WorkerOrder& order : work_)
        std::visit([this](auto& o) { carryOut(o); }, order);
    work_.clear(); // keeps its capacity: the next swap hands it back to the inbox
}

void ConnectionWorker::stop() {
    drain();
    for (WorkerLink* link : links_) {
        delete link->connection;
        delete link;
    }
    links_.clear();
    // What those connections left for deletion (a TLS socket) goes now, on this thread, so that
    // nothing runs OpenSSL here after the next line.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    // OpenSSL keeps a per-thread error queue for a thread that ran TLS and did not free it when
    // this thread ended (LeakSanitizer: 904 bytes per process with TLS connections on a worker).
    OPENSSL_thread_stop();
    deleteLater(); // run when the thread's loop has ended (QThread sends deferred deletes)
}

void ConnectionWorker::carryOut(order::Adopt& adopt) {
    WebSocketTransport* connection = nullptr;
    if (adopt.socket) {
        connection = new WebSocketConnection(adopt.socket, batcher_, std::move(adopt.handshake),
                                             std::move(adopt.firstBytes), maxMessageBytes_);
    } else {
        connection = new RawWebSocketConnection(adopt.fd, batcher_, std::move(adopt.handshake),
                                                std::move(adopt.firstBytes), maxMessageBytes_);
    }
    connection->mirrorPendingTo(&adopt.link->pending);
    adopt.link->connection = connection;
    links_.insert(adopt.link);
}

void ConnectionWorker::carryOut(order::Start& start) {
    // Each event becomes a queued call on the main thread, in the order the frames came.
    QObject* main = mainContext_;
    const WebSocketTransport::Handlers& to = start.handlers;
    start.link->connection->start({
        .text =
            [main, h = to.text](const QByteArray& text) {
                QMetaObject::invokeMethod(
                    main, [h, text] { h(text); }, Qt::QueuedConnection);
            },
        .binary = [main,
                   h = to.binary] { QMetaObject::invokeMethod(main, h, Qt::QueuedConnection); },
        .activity = [main,
                     h = to.activity] { QMetaObject::invokeMethod(main, h, Qt::QueuedConnection); },
        .closed = [main,
                   h = to.closed] { QMetaObject::invokeMethod(main, h, Qt::QueuedConnection); },
    });
}

void ConnectionWorker::carryOut(order::Send& send) {
    for (WorkerLink* link : send.links)
        link->connection->send(send.frame);
}

void ConnectionWorker::carryOut(order::Ping& ping) {
    ping.link->connection->ping();
}

void ConnectionWorker::carryOut(order::Close& close) {
    close.link->connection->close(close.code, close.reason);
}

void ConnectionWorker::carryOut(order::Release& release) {
    links_.erase(release.link);
    delete release.link->connection;
    delete release.link;
}

} // namespace herald
