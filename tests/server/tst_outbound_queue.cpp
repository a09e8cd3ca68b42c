// OutboundQueue and WriteBatcher on real loopback TCP connections: frames of one event-loop pass
// are written in one system call per connection, the first few connections of a pass at once,
// and a burst keeps its order; a queue on a bare descriptor reports a reset once; the close
// deadlines of a thread's connections run in order behind one timer.
#include "server/OutboundQueue.h"
#include "server/RawWebSocketConnection.h"

#include <QHostAddress>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace herald;

namespace {
// A connected pair: `server` is the side whose queue writes, `client` reads.
struct Pair {
    std::unique_ptr<QTcpSocket> client;
    QTcpSocket* server = nullptr;
};
} // namespace

class OutboundQueueTest : public QObject {
    Q_OBJECT
private:
    QTcpServer listener_;
    std::vector<Pair> pairs_;

    bool connectPairs(int count) {
        for (int i = 0; i < count; ++i) {
            Pair p;
            p.client = std::make_unique<QTcpSocket>();
            p.client->connectToHost(QHostAddress::LocalHost, listener_.serverPort());
            if (!p.client->waitForConnected(5000) || !listener_.waitForNewConnection(5000))
                return false;
            p.server = listener_.nextPendingConnection();
            pairs_.push_back(std::move(p));
        }
        return true;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(listener_.listen(QHostAddress::LocalHost, 0)); }

    void cleanup() { pairs_.clear(); }

    void theFirstConnectionsOfAPassAreWrittenAtOnce() {
        const int n = WriteBatcher::kEagerWrites + 8;
        QVERIFY(connectPairs(n));
        WriteBatcher batcher;
        std::vector<std::unique_ptr<OutboundQueue>> queues;
        for (const Pair& p : pairs_)
            queues.push_back(std::make_unique<OutboundQueue>(p.server, batcher));
        const QByteArray frame("\x81\x05hello", 7);
        for (auto& q : queues)
            q->push(frame); // one shared frame, one pass: no event loop runs in between
        for (int i = 0; i < n; ++i)
            QCOMPARE(queues[size_t(i)]->pending(), i < WriteBatcher::kEagerWrites ? 0 : 7);
        // The rest go out when the pass ends; every client has the frame once.
        QTRY_VERIFY(std::all_of(queues.begin(), queues.end(),
                                [](const auto& q) { return q->pending() == 0; }));
        for (Pair& p : pairs_) {
            QTRY_COMPARE(p.client->bytesAvailable(), qint64(7));
            QCOMPARE(p.client->readAll(), frame);
        }
    }

    void aBurstInOnePassKeepsItsOrder() {
        QVERIFY(connectPairs(1));
        WriteBatcher batcher;
        OutboundQueue queue(pairs_[0].server, batcher);
        QByteArray expected;
        for (int i = 0; i < 100; ++i) {
            const QByteArray frame = QByteArray("frame ") + QByteArray::number(i) + ';';
            queue.push(frame);
            expected += frame;
        }
        // The first frames went out at once, the rest wait for the end of the pass.
        QVERIFY(queue.pending() > 0);
        QByteArray got;
        QTRY_VERIFY((got += pairs_[0].client->readAll(), got.size() == expected.size()));
        QCOMPARE(got, expected);
    }

    void aQueueOnABareDescriptorWritesAndReportsAReset() {
        QVERIFY(connectPairs(1));
        WriteBatcher batcher;
        QByteArray unread;
        const int fd = RawWebSocketConnection::takeDescriptor(pairs_[0].server, unread);
        QVERIFY(fd >= 0);
        QVERIFY(unread.isEmpty());
        OutboundQueue queue(fd, batcher);
        QSignalSpy failed(&queue, &OutboundQueue::failed);
        const QByteArray frame("\x81\x05hello", 7);
        queue.push(frame);
        QTRY_COMPARE(pairs_[0].client->bytesAvailable(), qint64(7));
        QCOMPARE(pairs_[0].client->readAll(), frame);
        // The peer resets the connection (SO_LINGER 0): writing fails, once, and stops.
        const linger hard{1, 0};
        QCOMPARE(::setsockopt(int(pairs_[0].client->socketDescriptor()), SOL_SOCKET, SO_LINGER,
                              &hard, sizeof hard),
                 0);
        pairs_[0].client->abort();
        QDeadlineTimer deadline(10000);
        while (failed.isEmpty() && !deadline.hasExpired()) {
            queue.push(frame);
            QTest::qWait(5);
        }
        QCOMPARE(failed.size(), 1);
        queue.push(frame); // dropped: the descriptor is not touched again
        QCOMPARE(queue.pending(), 0);
        QTest::qWait(50);
        QCOMPARE(failed.size(), 1);
        ::close(fd);
    }

    void closeDeadlinesRunOnTimeUnlessCancelled() {
        QObject owner;
        CloseDeadlines deadlines(&owner);
        QList<int> ran;
        deadlines.add(200, [&] { ran.append(2); });
        const quint64 cancelled = deadlines.add(50, [&] { ran.append(0); });
        deadlines.add(100, [&] { ran.append(1); });
        deadlines.cancel(cancelled);
        QCOMPARE(deadlines.size(), size_t(2));
        QTRY_COMPARE_WITH_TIMEOUT(ran.size(), 2, 10000);
        QCOMPARE(ran, (QList<int>{1, 2})); // in the order they fall due
        QCOMPARE(deadlines.size(), size_t(0));
    }
};

QTEST_GUILESS_MAIN(OutboundQueueTest)
#include "tst_outbound_queue.moc"
