#pragma once

#include "server/ExpiryQueue.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <functional>
#include <unordered_map>

namespace herald {

// The close timeouts of one thread's connections behind one timer: a connection waiting for its
// peer's close costs an entry here instead of a QTimer of its own (an object, a timer id and a
// registration with the event dispatcher for every connection).
class CloseDeadlines {
public:
    // The timer is a child of `owner`, so it follows it to the thread that owns the connections.
    explicit CloseDeadlines(QObject* owner)
        : timer_(owner) {
        clock_.start();
        timer_.setSingleShot(true);
        QObject::connect(&timer_, &QTimer::timeout, &timer_, [this] { expire(); });
    }

    // Runs `cut` in `ms` from now (from the event loop) unless cancelled first. The ticket is
    // never 0, so 0 can mean "none".
    quint64 add(int ms, std::function<void()> cut) {
        const quint64 ticket = ++lastTicket_;
        cuts_.emplace(ticket, std::move(cut));
        queue_.add(ticket, clock_.elapsed() + ms);
        arm();
        return ticket;
    }
    void cancel(quint64 ticket) {
        if (ticket == 0 || cuts_.erase(ticket) == 0)
            return;
        queue_.remove(ticket);
        if (cuts_.empty())
            timer_.stop();
    }
    std::size_t size() const { return cuts_.size(); }

private:
    void arm() {
        const auto next = queue_.nextMs();
        if (!next)
            return;
        const qint64 in = std::max<qint64>(0, *next - clock_.elapsed());
        if (!timer_.isActive() || timer_.remainingTime() > in)
            timer_.start(static_cast<int>(in));
    }
    void expire() {
        for (quint64 ticket : queue_.takeDue(clock_.elapsed())) {
            auto it = cuts_.find(ticket);
            if (it == cuts_.end())
                continue;
            auto cut = std::move(it->second);
            cuts_.erase(it);
            cut(); // may add or cancel other tickets
        }
        arm();
    }

    QElapsedTimer clock_;
    QTimer timer_;
    ExpiryQueue queue_;
    std::unordered_map<quint64, std::function<void()>> cuts_;
    quint64 lastTicket_ = 0;
};

} // namespace herald
