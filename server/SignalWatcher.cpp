#include "server/SignalWatcher.h"

#include <sys/signalfd.h>
#include <unistd.h>

namespace herald {

SignalWatcher::SignalWatcher(std::initializer_list<int> signalNumbers, QObject* parent)
    : QObject(parent) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : signalNumbers)
        sigaddset(&mask, s);
    // Blocked so the default action (terminate) does not run; signalfd reports them instead.
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ < 0)
        return;
    notifier_ = std::make_unique<QSocketNotifier>(fd_, QSocketNotifier::Read);
    connect(notifier_.get(), &QSocketNotifier::activated, this, [this] {
        signalfd_siginfo info;
        while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
            Q_EMIT received(static_cast<int>(info.ssi_signo));
    });
}

SignalWatcher::~SignalWatcher() {
    notifier_.reset();
    if (fd_ >= 0)
        ::close(fd_);
}

} // namespace herald
