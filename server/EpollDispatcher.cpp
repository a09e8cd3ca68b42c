#include "server/EpollDispatcher.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QThread>
#include <cerrno>
#include <climits>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace herald {
namespace {
constexpr int kMaxEvents = 512; // sockets handled per pass before timers and posted events again
}

EpollDispatcher::EpollDispatcher(QObject* parent)
    : QAbstractEventDispatcher(parent)
    , epoll_(::epoll_create1(EPOLL_CLOEXEC))
    , wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (epoll_ < 0 || wake_ < 0)
        qFatal("EpollDispatcher: epoll_create1/eventfd failed (errno %d)", errno);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
    clock_.start();
}

EpollDispatcher::~EpollDispatcher() {
    ::close(wake_);
    ::close(epoll_);
}

void EpollDispatcher::updateEpoll(int fd, const Watch& watch, bool wasWatched) {
    epoll_event event{};
    event.data.fd = fd;
    event.events = (watch.read ? EPOLLIN : 0u) | (watch.write ? EPOLLOUT : 0u) |
                   (watch.exception ? EPOLLPRI : 0u);
    if (event.events == 0) {
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
        watches_.erase(fd);
        return;
    }
    if (::epoll_ctl(epoll_, wasWatched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) < 0 &&
        errno == ENOENT)
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event); // closed and reopened under us
}

void EpollDispatcher::registerSocketNotifier(QSocketNotifier* notifier) {
    const int fd = static_cast<int>(notifier->socket());
    const bool wasWatched = watches_.count(fd) != 0;
    Watch& watch = watches_[fd];
    switch (notifier->type()) {
    case QSocketNotifier::Read:
        watch.read = notifier;
        break;
    case QSocketNotifier::Write:
        watch.write = notifier;
        break;
    case QSocketNotifier::Exception:
        watch.exception = notifier;
        break;
    }
    updateEpoll(fd, watch, wasWatched);
}

void EpollDispatcher::unregisterSocketNotifier(QSocketNotifier* notifier) {
    const int fd = static_cast<int>(notifier->socket());
    const auto it = watches_.find(fd);
    if (it == watches_.end())
        return;
    Watch& watch = it->second;
    for (QSocketNotifier** slot : {&watch.read, &watch.write, &watch.exception})
        if (*slot == notifier)
            *slot = nullptr;
    updateEpoll(fd, watch, true);
}

void EpollDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                    QObject* object) {
    unregisterTimer(timerId);
    const auto due = due_.emplace(nowMs() + interval, timerId);
    timers_.emplace(timerId, Timer{interval, timerType, object, due});
}

bool EpollDispatcher::unregisterTimer(int timerId) {
    const auto it = timers_.find(timerId);
    if (it == timers_.end())
        return false;
    due_.erase(it->second.due);
    timers_.erase(it);
    return true;
}

bool EpollDispatcher::unregisterTimers(QObject* object) {
    bool any = false;
    for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->second.object == object) {
            due_.erase(it->second.due);
            it = timers_.erase(it);
            any = true;
        } else {
            ++it;
        }
    }
    return any;
}

QList<QAbstractEventDispatcher::TimerInfo>
EpollDispatcher::registeredTimers(QObject* object) const {
    QList<TimerInfo> out;
    for (const auto& [id, timer] : timers_)
        if (timer.object == object)
            out.append(TimerInfo(id, static_cast<int>(timer.intervalMs), timer.type));
    return out;
}

int EpollDispatcher::remainingTime(int timerId) {
    const auto it = timers_.find(timerId);
    if (it == timers_.end())
        return -1;
    return static_cast<int>(std::max<qint64>(0, it->second.due->first - nowMs()));
}

void EpollDispatcher::wakeUp() {
    const quint64 one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_, &one, sizeof one);
}

void EpollDispatcher::interrupt() {
    interrupted_ = true;
    wakeUp();
}

int EpollDispatcher::msUntilNextTimer() const {
    if (due_.empty())
        return -1;
    return static_cast<int>(std::clamp<qint64>(due_.begin()->first - nowMs(), 0, INT_MAX));
}

int EpollDispatcher::activateTimers() {
    const qint64 now = nowMs();
    // Collect first: handlers may start, stop or restart timers (this one included).
    QVarLengthArray<int, 16> fire;
    for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it)
        fire.append(it->second);
    int fired = 0;
    for (int id : fire) {
        auto it = timers_.find(id);
        if (it == timers_.end() || it->second.running)
            continue;
        Timer& timer = it->second;
        // Next time: one interval after this one was due, or after now if we fell behind.
        qint64 next = timer.due->first + timer.intervalMs;
        if (next <= now)
            next = now + timer.intervalMs;
        due_.erase(timer.due);
        timer.due = due_.emplace(next, id);
        timer.running = true;
        QTimerEvent event(id);
        QCoreApplication::sendEvent(timer.object, &event);
        ++fired;
        if (const auto again = timers_.find(id); again != timers_.end())
            again->second.running = false;
        if (interrupted_)
            break;
    }
    return fired;
}

int EpollDispatcher::activateSockets(int timeoutMs) {
    epoll_event events[kMaxEvents];
    int ready;
    do {
        ready = ::epoll_wait(epoll_, events, kMaxEvents, timeoutMs);
    } while (ready < 0 && errno == EINTR && !interrupted_);
    int handled = 0;
    for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        const uint32_t what = events[i].events;
        if (fd == wake_) {
            quint64 count;
            [[maybe_unused]] const ssize_t n = ::read(wake_, &count, sizeof count);
            continue;
        }
        // Look the notifiers up again for each: an earlier handler may have removed them.
        const bool failed = what & (EPOLLERR | EPOLLHUP);
        for (auto type :
             {QSocketNotifier::Read, QSocketNotifier::Write, QSocketNotifier::Exception}) {
            const auto it = watches_.find(fd);
            if (it == watches_.end())
                break;
            QSocketNotifier* notifier = type == QSocketNotifier::Read    ? it->second.read
                                        : type == QSocketNotifier::Write ? it->second.write
                                                                         : it->second.exception;
            const bool wanted = type == QSocketNotifier::Read    ? (what & EPOLLIN) || failed
                                : type == QSocketNotifier::Write ? (what & EPOLLOUT) || failed
                                                                 : (what & EPOLLPRI) != 0;
            if (!notifier || !wanted)
                continue;
            QEvent event(QEvent::SockAct);
            QCoreApplication::sendEvent(notifier, &event);
            ++handled;
        }
    }
    return handled;
}

bool EpollDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags) {
    interrupted_ = false;
    Q_EMIT awake();
    QCoreApplication::sendPostedEvents();
    if (interrupted_)
        return true;
    // Sockets before timers, as Qt's own dispatcher does: after a long pass, bytes that arrived
    // meanwhile are read before an idle timer could decide the peer was silent.
    const bool mayWait = flags & QEventLoop::WaitForMoreEvents;
    const int timeoutMs = mayWait ? msUntilNextTimer() : 0;
    if (timeoutMs != 0)
        Q_EMIT aboutToBlock();
    int handled = activateSockets(timeoutMs);
    if (!interrupted_)
        handled += activateTimers();
    return handled > 0;
}

} // namespace herald
