#include "server/WorkerPool.h"

#include "server/EpollDispatcher.h"
#include "server/RawWebSocketConnection.h"

#include <QAbstractEventDispatcher>
#include <QSslSocket>

namespace herald {

WorkerPool::WorkerPool(int workers, qint64 maxMessageBytes, QObject* parent)
    : QObject(parent) {
    // Workers wait the way the main thread does (HERALD_EVENT_DISPATCHER=qt keeps Qt's).
    const bool epoll = qobject_cast<EpollDispatcher*>(QAbstractEventDispatcher::instance());
    for (int i = 0; i < workers; ++i) {
        auto slot = std::make_unique<Slot>();
        slot->thread.setObjectName(
            QStringLiteral("herald-w%1").arg(i)); // the thread's name in ps/top
        if (epoll)
            slot->thread.setEventDispatcher(new EpollDispatcher);
        slot->worker = new ConnectionWorker(this, maxMessageBytes);
        slot->worker->moveToThread(&slot->thread);
        slot->thread.start();
        slots_.push_back(std::move(slot));
    }
}

WorkerPool::~WorkerPool() {
    handOff();
    for (auto& slot : slots_) {
        QMetaObject::invokeMethod(slot->worker, &ConnectionWorker::stop,
                                  Qt::BlockingQueuedConnection);
        slot->thread.quit();
        slot->thread.wait();
    }
}

std::vector<qint64> WorkerPool::connectionsPerWorker() const {
    std::vector<qint64> counts;
    for (const auto& slot : slots_)
        counts.push_back(slot->connections);
    return counts;
}

WorkerPool::Adopted WorkerPool::adopt(QTcpSocket* socket, QByteArray handshake,
                                      QByteArray firstBytes, qint64 maxOutboundBytes) {
    int chosen = 0;
    for (int i = 1; i < size(); ++i)
        if (slots_[static_cast<size_t>(i)]->connections <
            slots_[static_cast<size_t>(chosen)]->connections)
            chosen = i;
    Slot& slot = *slots_[static_cast<size_t>(chosen)];
    ++slot.connections;

    auto* link = new WorkerLink;
    if (qobject_cast<QSslSocket*>(socket)) {
        // TLS stays in Qt's hands: the socket itself moves to the worker's thread.
        socket->setParent(nullptr);
        socket->moveToThread(&slot.thread);
        stage(chosen, order::Adopt{link, socket, -1, std::move(handshake), std::move(firstBytes)});
    } else {
        // Only the descriptor goes over (moving a QTcpSocket costs its engine's notifiers and a
        // re-registration); the worker builds the connection on it in its own thread.
        const int fd = RawWebSocketConnection::takeDescriptor(socket, firstBytes);
        stage(chosen, order::Adopt{link, nullptr, fd, std::move(handshake), std::move(firstBytes)});
    }
    return {std::make_unique<WorkerTransport>(*this, chosen, link, maxOutboundBytes),
            [this, chosen, link](WebSocketTransport::Handlers handlers) {
                stage(chosen, order::Start{link, std::move(handlers)});
            }};
}

void WorkerPool::stage(int worker, WorkerOrder order) {
    slots_[static_cast<size_t>(worker)]->staged.push_back(std::move(order));
    scheduleHandOff();
}

void WorkerPool::stageSend(int worker, WorkerLink* link, const Frame& frame) {
    auto& staged = slots_[static_cast<size_t>(worker)]->staged;
    // The frame of a fan-out comes to every recipient in a row: one order carries it to all.
    // (The staged order holds a reference, so its buffer cannot be another frame's.)
    if (!staged.empty()) {
        auto* send = std::get_if<order::Send>(&staged.back());
        if (send && send->frame.bytes().constData() == frame.bytes().constData()) {
            send->links.push_back(link);
            // A message's first recipients do not wait until its last ones are staged: once a
            // pass, the worker gets the first few at once (as WriteBatcher writes them at once).
            Slot& slot = *slots_[static_cast<size_t>(worker)];
            if (slot.eager && send->links.size() == kEagerRecipients) {
                slot.eager = false;
                give(slot);
            }
            return;
        }
    }
    staged.push_back(order::Send{frame, {link}});
    scheduleHandOff();
}

void WorkerPool::scheduleHandOff() {
    if (handOffPosted_)
        return;
    handOffPosted_ = true;
    QMetaObject::invokeMethod(this, &WorkerPool::handOff, Qt::QueuedConnection);
}

void WorkerPool::handOff() {
    handOffPosted_ = false;
    for (auto& slot : slots_) {
        slot->eager = true;
        if (!slot->staged.empty())
            give(*slot);
    }
}

void WorkerPool::give(Slot& slot) {
    for (WorkerOrder& order : slot.staged)
        if (auto* send = std::get_if<order::Send>(&order))
            send->frame = send->frame.detached(); // drops this thread's reference here
    slot.worker->give(slot.staged);
}

WorkerTransport::~WorkerTransport() {
    pool_.stage(worker_, order::Release{link_});
    pool_.released(worker_);
}

void WorkerTransport::send(const Frame& frame) {
    sentSince_ += frame.bytes().size();
    pool_.stageSend(worker_, link_, frame);
}

void WorkerTransport::ping() {
    pool_.stage(worker_, order::Ping{link_});
}

void WorkerTransport::close(int code, const QString& reason) {
    pool_.stage(worker_, order::Close{link_, code, reason});
}

qint64 WorkerTransport::pendingBytes() const {
    const qint64 bound = seen_ + sentSince_;
    if (bound <= exactAbove_)
        return bound;
    seen_ = link_->pending.load(std::memory_order_relaxed);
    sentSince_ = 0;
    return seen_;
}

} // namespace herald
