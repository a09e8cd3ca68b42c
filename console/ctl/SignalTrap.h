#pragma once

#include <QList>
#include <QObject>
#include <QSocketNotifier>
#include <memory>

// Turns POSIX signals (SIGINT, SIGTERM) into a Qt signal delivered by the event loop: the
// handler only writes the signal number to a socket pair, a QSocketNotifier reads it. One trap
// may exist at a time; the previous handlers come back when it is destroyed.
namespace herald::ctl {

class SignalTrap : public QObject {
    Q_OBJECT
public:
    explicit SignalTrap(const QList<int>& signalNumbers, QObject* parent = nullptr);
    ~SignalTrap() override;

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

} // namespace herald::ctl
