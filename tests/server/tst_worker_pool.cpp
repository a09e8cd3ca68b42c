// WorkerPool and ConnectionWorker on real loopback TCP connections: sockets accepted on the main
// thread are handed to worker threads, frames sent from the main thread arrive in order (one
// fan-out order per worker carrying a frame to many), inbound events and the close come back to
// the main thread once each, a client that stops reading shows as backlog, and a pool that goes
// with connections still open leaves nothing behind (the sanitizer suite checks for leaks).
#include "server/WorkerPool.h"
#include "tests/common/RawWs.h"

#include <QHostAddress>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <memory>
#include <sys/socket.h>
#include <vector>

using namespace herald;
namespace raw = herald::test::raw;

namespace {

struct Client {
    std::unique_ptr<QTcpSocket> socket;
    QByteArray received;
    std::unique_ptr<ClientTransport> transport;
    std::function<void(WebSocketTransport::Handlers)> start;
    QList<QByteArray> texts; // text frames the server side decoded, as the main thread got them
    int closedCalls = 0;
    bool handlersOnMainThread = true;
};

} // namespace

class WorkerPoolTest : public QObject {
    Q_OBJECT
private:
    QTcpServer listener_;
    std::vector<std::unique_ptr<Client>> clients_;
    std::unique_ptr<WorkerPool> pool_;

    WorkerPool& makePool(int workers) {
        pool_ = std::make_unique<WorkerPool>(workers, 1 << 20);
        return *pool_;
    }

    // Connects `count` clients and gives their server sides to `pool`.
    bool connect(WorkerPool& pool, int count, qint64 maxOutbound = 4 << 20) {
        for (int i = 0; i < count; ++i) {
            auto c = std::make_unique<Client>();
            c->socket = std::make_unique<QTcpSocket>();
            c->socket->connectToHost(QHostAddress::LocalHost, listener_.serverPort());
            if (!c->socket->waitForConnected(5000) || !listener_.waitForNewConnection(5000))
                return false;
            QTcpSocket* server = listener_.nextPendingConnection();
            auto adopted = pool.adopt(server, "HELLO", {}, maxOutbound);
            c->transport = std::move(adopted.transport);
            c->start = std::move(adopted.start);
            clients_.push_back(std::move(c));
        }
        return true;
    }

    void startAll() {
        QThread* main = QThread::currentThread();
        for (auto& owned : clients_) {
            Client* c = owned.get();
            auto onMain = [c, main] {
                c->handlersOnMainThread &= QThread::currentThread() == main;
            };
            c->start({
                .text =
                    [c, onMain](const QByteArray& text) {
                        onMain();
                        c->texts.append(text);
                    },
                .binary = onMain,
                .activity = onMain,
                .closed =
                    [c, onMain] {
                        onMain();
                        ++c->closedCalls;
                    },
            });
        }
    }

    // Reads what every client has, until each has at least `bytes` (or the deadline).
    bool receive(qsizetype bytes, int timeoutMs = 10000) {
        QDeadlineTimer deadline(timeoutMs);
        for (;;) {
            bool all = true;
            for (auto& c : clients_) {
                c->received += c->socket->readAll();
                all = all && c->received.size() >= bytes;
            }
            if (all)
                return true;
            if (deadline.hasExpired())
                return false;
            QTest::qWait(5);
        }
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(listener_.listen(QHostAddress::LocalHost, 0)); }
    void cleanup() {
        // As in Node: the sessions (their transports) go before the pool.
        for (auto& c : clients_)
            c->transport.reset();
        pool_.reset();
        clients_.clear();
    }

    void framesArriveInOrderOnEveryWorker() {
        WorkerPool& pool = makePool(2);
        QVERIFY(connect(pool, 6, 0)); // 0: pendingBytes() is always the worker's own figure
        // The fewest-connections choice spreads them evenly.
        QCOMPARE(pool.connectionsPerWorker(), (std::vector<qint64>{3, 3}));
        startAll();
        // A fan-out (one shared frame to all, in a row) between frames of each client's own.
        const Frame shared = Frame::text(R"({"event":"message","n":"shared"})");
        const int rounds = 200;
        qsizetype expected = 5; // the handshake stand-in
        for (int r = 0; r < rounds; ++r) {
            for (auto& c : clients_)
                c->transport->send(shared);
            const QByteArray ownJson = QByteArray("{\"n\":") + QByteArray::number(r) + '}';
            const Frame own = Frame::text(ownJson);
            for (auto& c : clients_)
                c->transport->send(own);
            expected += shared.bytes().size() + own.bytes().size();
        }
        QVERIFY(receive(expected));
        for (auto& c : clients_) {
            QVERIFY(c->received.startsWith("HELLO"));
            QByteArray rest = c->received.mid(5);
            const auto frames = raw::takeFrames(rest);
            QCOMPARE(frames.size(), 2 * rounds);
            for (int r = 0; r < rounds; ++r) {
                QCOMPARE(frames[2 * r].payload, shared.payload().toByteArray());
                QCOMPARE(frames[2 * r + 1].payload,
                         QByteArray("{\"n\":") + QByteArray::number(r) + '}');
            }
            QVERIFY(rest.isEmpty());
        }
        // Everything was written: the backlog the main thread sees drops to nothing.
        for (auto& c : clients_)
            QTRY_COMPARE_WITH_TIMEOUT(c->transport->pendingBytes(), qint64(0), 5000);
    }

    void inboundTextAndCloseReachTheMainThreadOnce() {
        WorkerPool& pool = makePool(2);
        QVERIFY(connect(pool, 4));
        startAll();
        for (int i = 0; i < 4; ++i)
            clients_[size_t(i)]->socket->write(
                raw::clientFrame(0x1, "hello " + QByteArray::number(i)) +
                raw::clientFrame(0x1, "again " + QByteArray::number(i)));
        for (int i = 0; i < 4; ++i) {
            Client& c = *clients_[size_t(i)];
            QTRY_COMPARE_WITH_TIMEOUT(c.texts.size(), 2, 10000);
            QCOMPARE(c.texts[0], QByteArray("hello " + QByteArray::number(i)));
            QCOMPARE(c.texts[1], QByteArray("again " + QByteArray::number(i)));
        }
        // A close from the server side: the close frame, then the end of the connection.
        clients_[0]->transport->close(1001, QStringLiteral("going away"));
        // A client that just goes.
        clients_[1]->socket->abort();
        QTRY_COMPARE_WITH_TIMEOUT(clients_[1]->closedCalls, 1, 10000);
        clients_[0]->socket->write(raw::clientFrame(0x8, QByteArray("\x03\xe9", 2)));
        QTRY_COMPARE_WITH_TIMEOUT(clients_[0]->closedCalls, 1, 10000);
        QByteArray got = clients_[0]->received + clients_[0]->socket->readAll();
        QVERIFY(got.startsWith("HELLO"));
        got.remove(0, 5);
        const auto frames = raw::takeFrames(got);
        QVERIFY(!frames.isEmpty());
        QCOMPARE(frames.first().opcode, 0x8);
        QCOMPARE(frames.first().closeCode(), 1001);
        QTest::qWait(100); // a second report would have come by now
        for (auto& c : clients_) {
            QVERIFY(c->closedCalls <= 1);
            QVERIFY(c->handlersOnMainThread);
        }
        // The session goes: its link is released and the worker's count drops.
        clients_[1]->transport.reset();
        const auto counts = pool.connectionsPerWorker();
        QCOMPARE(counts[0] + counts[1], 3);
    }

    void aPeerThatWentBeforeStartIsReportedClosed() {
        WorkerPool& pool = makePool(1);
        QVERIFY(connect(pool, 1));
        clients_[0]->socket->abort();
        // Let the worker notice the end before anyone listens.
        QTest::qWait(200);
        startAll();
        QTRY_COMPARE_WITH_TIMEOUT(clients_[0]->closedCalls, 1, 10000);
        QTest::qWait(100);
        QCOMPARE(clients_[0]->closedCalls, 1);
    }

    void aPlainSocketGoesOverAsItsDescriptor() {
        WorkerPool& pool = makePool(1);
        auto c = std::make_unique<Client>();
        c->socket = std::make_unique<QTcpSocket>();
        c->socket->connectToHost(QHostAddress::LocalHost, listener_.serverPort());
        QVERIFY(c->socket->waitForConnected(5000) && listener_.waitForNewConnection(5000));
        QPointer<QTcpSocket> server = listener_.nextPendingConnection();
        auto adopted = pool.adopt(server, "HELLO", "\x81", 1 << 20); // half a frame came along
        c->transport = std::move(adopted.transport);
        c->start = std::move(adopted.start);
        clients_.push_back(std::move(c));
        // The QTcpSocket does not move to the worker: it goes, and the connection lives on.
        QTRY_VERIFY_WITH_TIMEOUT(server.isNull(), 10000);
        startAll();
        // The rest of the frame whose first byte came with the handshake.
        const QByteArray rest = raw::clientFrame(0x1, "after the head").mid(1);
        clients_[0]->socket->write(rest);
        QTRY_COMPARE_WITH_TIMEOUT(clients_[0]->texts.size(), 1, 10000);
        QCOMPARE(clients_[0]->texts[0], QByteArray("after the head"));
        clients_[0]->transport->send(Frame::text("{}"));
        QVERIFY(receive(5 + Frame::text("{}").bytes().size()));
        QVERIFY(clients_[0]->received.startsWith("HELLO"));
    }

    void aPeerResetWhileWritingIsReportedClosedOnce() {
        WorkerPool& pool = makePool(1);
        QVERIFY(connect(pool, 1, 0)); // 0: pendingBytes() is the worker's own figure
        startAll();
        QVERIFY(receive(5));
        // A reset, not an orderly end: SO_LINGER 0 makes the close send RST.
        const linger hard{1, 0};
        QCOMPARE(::setsockopt(int(clients_[0]->socket->socketDescriptor()), SOL_SOCKET, SO_LINGER,
                              &hard, sizeof hard),
                 0);
        clients_[0]->socket->abort();
        const Frame frame = Frame::text(QByteArray(4096, 'x').prepend('"').append('"'));
        QDeadlineTimer deadline(10000);
        while (clients_[0]->closedCalls == 0 && !deadline.hasExpired()) {
            clients_[0]->transport->send(frame);
            QTest::qWait(5);
        }
        QCOMPARE(clients_[0]->closedCalls, 1);
        for (int i = 0; i < 10; ++i)
            clients_[0]->transport->send(frame); // a connection that went drops what comes
        QTest::qWait(100);                       // a second report would have come by now
        QCOMPARE(clients_[0]->closedCalls, 1);
        // What was queued is dropped with the connection.
        QTRY_COMPARE_WITH_TIMEOUT(clients_[0]->transport->pendingBytes(), qint64(0), 5000);
    }

    void aPeerThatNeverAnswersTheCloseIsCut() {
        WorkerPool& pool = makePool(1);
        QVERIFY(connect(pool, 2));
        startAll();
        clients_[0]->transport->close(1008, QStringLiteral("bye"));
        clients_[1]->transport->close(1001, QStringLiteral("going away"));
        // Client 1 answers; client 0 reads the close frame and stays silent.
        QVERIFY(receive(5 + 7)); // the shorter close frame
        clients_[1]->socket->write(raw::clientFrame(0x8, QByteArray("\x03\xe9", 2)));
        QTRY_COMPARE_WITH_TIMEOUT(clients_[1]->closedCalls, 1, 10000);
        QCOMPARE(clients_[0]->closedCalls, 0);
        // After the close timeout (one timer for the worker's connections) the socket is cut.
        QTRY_COMPARE_WITH_TIMEOUT(clients_[0]->closedCalls, 1,
                                  WebSocketTransport::kCloseTimeoutMs + 15000);
        QTRY_COMPARE_WITH_TIMEOUT(clients_[0]->socket->state(), QAbstractSocket::UnconnectedState,
                                  10000);
        QByteArray got = clients_[0]->received.mid(5);
        const auto frames = raw::takeFrames(got);
        QCOMPARE(frames.size(), 1);
        QCOMPARE(frames.first().opcode, 0x8);
        QCOMPARE(frames.first().closeCode(), 1008);
    }

    void aClientThatStopsReadingShowsAsBacklog() {
        const qint64 limit = 256 * 1024;
        WorkerPool& pool = makePool(1);
        QVERIFY(connect(pool, 1, limit));
        // The client never reads: the kernel's buffers fill, then the worker holds the rest.
        // (Qt would otherwise read it into memory whenever this thread's loop runs.)
        clients_[0]->socket->setReadBufferSize(1);
        startAll();
        const Frame big = Frame::text(QByteArray(64 * 1024, 'x').prepend('"').append('"'));
        qint64 seen = 0;
        QDeadlineTimer deadline(20000);
        while (seen <= limit && !deadline.hasExpired()) {
            clients_[0]->transport->send(big);
            seen = clients_[0]->transport->pendingBytes();
            QCoreApplication::processEvents();
        }
        QVERIFY2(seen > limit, qPrintable(QString::number(seen)));
    }

    void aPoolThatGoesClosesWhatItHolds() {
        WorkerPool& pool = makePool(2);
        QVERIFY(connect(pool, 4));
        startAll();
        for (auto& c : clients_)
            c->transport->send(Frame::text("{}"));
        for (auto& c : clients_)
            c->transport.reset(); // sessions go first, as in Node
        pool_.reset();
        for (auto& c : clients_) {
            QTRY_COMPARE_WITH_TIMEOUT(c->socket->state(), QAbstractSocket::UnconnectedState, 10000);
            QCOMPARE(c->closedCalls, 0); // the main side had let go already
        }
    }
};

QTEST_GUILESS_MAIN(WorkerPoolTest)
#include "tst_worker_pool.moc"
