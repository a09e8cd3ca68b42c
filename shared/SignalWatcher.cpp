#include "shared/SignalWatcher.h"

#include <cerrno>
#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

namespace herald {
namespace {

// [0] is written by the handler, [1] is watched by the notifier. -1 while no trap exists.
int g_pair[2] = {-1, -1};

void onSignal(int signalNumber) {
    // Only async-signal-safe calls here: write() one byte, keep errno intact.
    const int savedErrno = errno;
    const unsigned char byte = static_cast<unsigned char>(signalNumber);
    if (::write(g_pair[0], &byte, 1) < 0) {
        // Pipe full: a signal is already pending, which is all the reader needs to know.
    }
    errno = savedErrno;
}

} // namespace

struct SignalWatcher::Saved {
    QList<struct sigaction> previous;
};

SignalWatcher::SignalWatcher(const QList<int>& signalNumbers, QObject* parent)
    : QObject(parent)
    , signals_(signalNumbers) {
    if (g_pair[0] != -1)
        return; // another trap is active; this one stays inert
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, g_pair) != 0) {
        g_pair[0] = g_pair[1] = -1;
        return;
    }
    saved_ = std::make_unique<Saved>();
    for (int signalNumber : signals_) {
        struct sigaction action {};
        action.sa_handler = &onSignal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        struct sigaction previous {};
        ::sigaction(signalNumber, &action, &previous);
        saved_->previous.append(previous);
    }
    notifier_ = std::make_unique<QSocketNotifier>(g_pair[1], QSocketNotifier::Read);
    connect(notifier_.get(), &QSocketNotifier::activated, this, &SignalWatcher::drain);
}

SignalWatcher::~SignalWatcher() {
    if (!saved_)
        return;
    for (qsizetype i = 0; i < signals_.size() && i < saved_->previous.size(); ++i)
        ::sigaction(signals_[i], &saved_->previous[i], nullptr);
    notifier_.reset();
    ::close(g_pair[0]);
    ::close(g_pair[1]);
    g_pair[0] = g_pair[1] = -1;
}

void SignalWatcher::drain() {
    unsigned char buffer[16];
    for (;;) {
        const ssize_t n = ::read(g_pair[1], buffer, sizeof buffer);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i)
            Q_EMIT received(buffer[i]);
    }
}

} // namespace herald
