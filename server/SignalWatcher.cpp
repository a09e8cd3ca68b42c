#include "server/SignalWatcher.h"

#include <sys/signalfd.h>
#include <unistd.h>

namespace herald {

namespace {
sigset_t maskOf(std::initializer_list<int> signalNumbers) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : signalNumbers)
        sigaddset(&mask, s);
    return mask;
}
} // namespace

void SignalWatcher::blockInThisThread(std::initializer_list<int> signalNumbers) {
    const sigset_t mask = maskOf(signalNumbers);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
}

SignalWatcher::SignalWatcher(std::initializer_list<int> signalNumbers, QObject* parent)
    : QObject(parent) {
    const sigset_t mask = maskOf(signalNumbers);
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
