#pragma once

#include <QList>
#include <QObject>
#include <QSocketNotifier>
#include <memory>

namespace herald {

// Turns POSIX signals (SIGINT, SIGTERM, SIGHUP) into a Qt signal delivered by the event loop,
// for all three programs: the handler only writes the signal number to a socket pair (the one
// async-signal-safe thing it does), a QSocketNotifier reads it. Process-wide, so it works
// whichever thread the kernel picks. One watcher may exist at a time (a handler has nowhere
// but a global to find its pipe); the previous handlers come back when it is destroyed.
class SignalWatcher : public QObject {
    Q_OBJECT
public:
    explicit SignalWatcher(const QList<int>& signalNumbers, QObject* parent = nullptr);
    ~SignalWatcher() override;

    bool isActive() const { return notifier_ != nullptr; }

Q_SIGNALS:
    void received(int signalNumber);

private:
    void drain();

    QList<int> signals_;
    std::unique_ptr<QSocketNotifier> notifier_;
    struct Saved;
    std::unique_ptr<Saved> saved_;
};

} // namespace herald
