#pragma once

#include <QObject>
#include <QSocketNotifier>
#include <csignal>
#include <initializer_list>
#include <memory>

namespace herald {

// Turns UNIX signals into a Qt signal through signalfd, so shutdown runs in the event loop
// rather than in an async-signal context.
class SignalWatcher : public QObject {
    Q_OBJECT
public:
    // Blocks the signals in the calling thread. Call first thing in main(), before any thread
    // exists: threads inherit the mask, and a thread with the signal unblocked would take the
    // default action (terminate) instead of the signalfd reporting it.
    static void blockInThisThread(std::initializer_list<int> signalNumbers);

    explicit SignalWatcher(std::initializer_list<int> signalNumbers, QObject* parent = nullptr);
    ~SignalWatcher() override;

Q_SIGNALS:
    void received(int signalNumber);

private:
    int fd_ = -1;
    std::unique_ptr<QSocketNotifier> notifier_;
};

} // namespace herald
