#pragma once

#include <QAbstractEventDispatcher>
#include <QElapsedTimer>
#include <atomic>
#include <map>
#include <unordered_map>

namespace herald {

// A Qt event dispatcher on Linux epoll. Qt's own UNIX dispatcher rebuilds and poll()s the whole
// list of socket notifiers on every pass of the event loop, so with 19,000 connections each
// pass costs O(connections) in the kernel before any work is done (77% of a node's time while
// clients connect was do_sys_poll). Here a pass costs O(ready sockets): notifiers are added to
// and removed from one epoll set as Qt enables and disables them, and timers sit in an ordered
// map. One instance per thread (install before the thread's event loop starts).
class EpollDispatcher final : public QAbstractEventDispatcher {
    Q_OBJECT
public:
    explicit EpollDispatcher(QObject* parent = nullptr);
    ~EpollDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;
    void registerSocketNotifier(QSocketNotifier* notifier) override;
    void unregisterSocketNotifier(QSocketNotifier* notifier) override;
    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject* object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject* object) override;
    QList<TimerInfo> registeredTimers(QObject* object) const override;
    int remainingTime(int timerId) override;
    void wakeUp() override;
    void interrupt() override;

private:
    struct Watch {
        QSocketNotifier* read = nullptr;
        QSocketNotifier* write = nullptr;
        QSocketNotifier* exception = nullptr;
    };
    struct Timer {
        qint64 intervalMs;
        Qt::TimerType type;
        QObject* object;
        std::multimap<qint64, int>::iterator due;
        bool running = false; // its handler is on the stack: do not re-enter it
    };

    qint64 nowMs() const { return clock_.elapsed(); }
    void updateEpoll(int fd, const Watch& watch, bool wasWatched);
    int activateTimers();
    int activateSockets(int timeoutMs);
    int msUntilNextTimer() const;

    int epoll_ = -1;
    int wake_ = -1; // eventfd: other threads (and posted events) wake the loop through it
    std::atomic<bool> interrupted_{false};
    QElapsedTimer clock_;
    std::unordered_map<int, Watch> watches_;
    std::unordered_map<int, Timer> timers_;
    std::multimap<qint64, int> due_; // when -> timer id
};

} // namespace herald
