// The epoll event dispatcher under Qt's own machinery: timers (single-shot, repeating, zero,
// killed from their own handler), socket notifiers (read, write, disabled, deleted while another
// is being activated), posted events and wake-ups from another thread. The whole integration
// suite also runs every herald-server on it.

#include "server/EpollDispatcher.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSocketNotifier>
#include <QTest>
#include <QTimer>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace herald;

class DispatcherTest : public QObject {
    Q_OBJECT
    int fds_[2] = {-1, -1};

private Q_SLOTS:
    void isInstalled() {
        QVERIFY(qobject_cast<EpollDispatcher*>(QAbstractEventDispatcher::instance()));
    }

    void init() { QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
    void cleanup() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }

    void singleShotTimersFireInOrderAndNotEarly() {
        QList<int> order;
        QElapsedTimer clock;
        clock.start();
        qint64 at60 = -1;
        QTimer::singleShot(60, this, [&] {
            order.append(60);
            at60 = clock.elapsed();
        });
        QTimer::singleShot(20, this, [&] { order.append(20); });
        QTimer::singleShot(0, this, [&] { order.append(0); });
        QTRY_COMPARE(order.size(), 3);
        QCOMPARE(order, (QList<int>{0, 20, 60}));
        QVERIFY2(at60 >= 59, qPrintable(QString::number(at60)));
    }

    void repeatingTimerAndKillingItFromItsHandler() {
        QTimer timer;
        timer.setInterval(5);
        int ticks = 0;
        connect(&timer, &QTimer::timeout, this, [&] {
            if (++ticks == 5)
                timer.stop();
        });
        timer.start();
        QTRY_VERIFY(!timer.isActive());
        QCOMPARE(ticks, 5);
        QTest::qWait(30); // a stopped timer stays quiet
        QCOMPARE(ticks, 5);
        QCOMPARE(QAbstractEventDispatcher::instance()->registeredTimers(&timer).size(), 0);
    }

    void remainingTime() {
        QTimer timer;
        timer.start(10'000);
        const int left = timer.remainingTime();
        QVERIFY(left > 9'000 && left <= 10'000);
    }

    void readNotifier() {
        QSocketNotifier notifier(fds_[0], QSocketNotifier::Read);
        QByteArray got;
        connect(&notifier, &QSocketNotifier::activated, this, [&] {
            char buf[64];
            const ssize_t n = ::read(fds_[0], buf, sizeof buf);
            if (n > 0)
                got.append(buf, n);
        });
        QVERIFY(::write(fds_[1], "hello", 5) == 5);
        QTRY_COMPARE(got, QByteArray("hello"));
        notifier.setEnabled(false); // disabled: data waits
        QVERIFY(::write(fds_[1], "x", 1) == 1);
        QTest::qWait(30);
        QCOMPARE(got, QByteArray("hello"));
        notifier.setEnabled(true);
        QTRY_COMPARE(got, QByteArray("hellox"));
    }

    void readAndWriteNotifiersOnOneSocket() {
        QSocketNotifier reader(fds_[0], QSocketNotifier::Read);
        QSocketNotifier writer(fds_[0], QSocketNotifier::Write);
        int writable = 0;
        int readable = 0;
        connect(&writer, &QSocketNotifier::activated, this, [&] {
            ++writable;
            writer.setEnabled(false); // the usual pattern: only while something waits
        });
        connect(&reader, &QSocketNotifier::activated, this, [&] {
            char c;
            if (::read(fds_[0], &c, 1) == 1)
                ++readable;
        });
        QTRY_COMPARE(writable, 1);
        QVERIFY(::write(fds_[1], "a", 1) == 1);
        QTRY_COMPARE(readable, 1);
        QCOMPARE(writable, 1);
    }

    void notifierDeletedByAnotherHandlerInTheSamePass() {
        int other[2];
        QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
        auto* second = new QSocketNotifier(other[0], QSocketNotifier::Read);
        QSocketNotifier first(fds_[0], QSocketNotifier::Read);
        int secondFired = 0;
        connect(second, &QSocketNotifier::activated, this, [&] { ++secondFired; });
        bool firstFired = false;
        connect(&first, &QSocketNotifier::activated, this, [&] {
            char c;
            [[maybe_unused]] auto n = ::read(fds_[0], &c, 1);
            firstFired = true;
            delete second;
            second = nullptr;
        });
        // Both readable before the loop runs: one epoll_wait reports both.
        QVERIFY(::write(other[1], "b", 1) == 1);
        QVERIFY(::write(fds_[1], "a", 1) == 1);
        QTRY_VERIFY(firstFired);
        QTest::qWait(20);
        QVERIFY(!second);
        QVERIFY(secondFired <= 1); // may have run before the first; never after its deletion
        ::close(other[0]);
        ::close(other[1]);
    }

    void wakeUpFromAnotherThread() {
        bool arrived = false;
        std::thread t([this, &arrived] {
            QMetaObject::invokeMethod(
                this, [&arrived] { arrived = true; }, Qt::QueuedConnection);
        });
        QElapsedTimer clock;
        clock.start();
        QTRY_VERIFY_WITH_TIMEOUT(arrived, 5000);
        t.join();
    }
};

int main(int argc, char* argv[]) {
    QCoreApplication::setEventDispatcher(new EpollDispatcher);
    QCoreApplication app(argc, argv);
    DispatcherTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_dispatcher.moc"
