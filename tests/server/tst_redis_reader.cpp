// The reply side of the Redis client: RESP parsed from whatever bytes arrived (one at a time or
// many replies at once), protocol errors, and the reply budget (an endless line, a gigantic
// announced string, a huge array header) both in the reader and on a live connection whose
// "Redis" is a test server that never stops sending. Also: commands issued in one event-loop
// pass reach a real redis-server in one write.

#include "server/RedisConnection.h"
#include "server/RedisReader.h"
#include "tests/common/RedisProcess.h"

#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <memory>

using namespace herald;
using herald::test::RedisProcess;
using Type = RedisReply::Type;

namespace {

// Embedded NUL: a literal would stop there without QByteArrayLiteral.
const QByteArray kMixed = QByteArrayLiteral(
    "+OK\r\n-ERR bad\r\n:-42\r\n$5\r\na\0b\r\n\r\n$-1\r\n*3\r\n$1\r\nx\r\n*1\r\n:7\r\n*-1\r\n"
    "*0\r\n$0\r\n\r\n");

QList<RedisReply> drain(RedisReplyReader& reader) {
    QList<RedisReply> out;
    while (auto r = reader.next())
        out.append(std::move(*r));
    return out;
}

void checkMixed(const QList<RedisReply>& r) {
    QCOMPARE(r.size(), 8);
    QVERIFY(r[0].type == Type::Status && r[0].string == "OK");
    QVERIFY(r[1].isError() && r[1].errorText() == QLatin1String("ERR bad") && !r[1].local);
    QVERIFY(r[2].type == Type::Integer && r[2].integer == -42);
    QVERIFY(r[3].type == Type::String && r[3].string == QByteArray("a\0b\r\n", 5));
    QVERIFY(r[4].isNil());
    QCOMPARE(r[5].type, Type::Array);
    QCOMPARE(r[5].elements.size(), size_t(3));
    QCOMPARE(r[5].elements[0].string, QByteArray("x"));
    QVERIFY(r[5].elements[1].type == Type::Array && r[5].elements[1].elements.size() == 1 &&
            r[5].elements[1].elements[0].integer == 7);
    QVERIFY(r[5].elements[2].isNil());
    QVERIFY(r[6].type == Type::Array && r[6].elements.empty());
    QVERIFY(r[7].type == Type::String && r[7].string.isEmpty());
}

// A "Redis" that answers the handshake PING and then answers any other command with a reply
// that never ends, as fast as the client takes it, up to `cap` bytes.
struct EndlessRedis : QObject {
    QTcpServer server;
    QByteArray head;
    QByteArray filler;
    qint64 cap = 0;
    qint64 sent = 0;
    int connections = 0;
    bool clientClosed = false;

    EndlessRedis(QByteArray replyHead, QByteArray fill, qint64 maxBytes)
        : head(std::move(replyHead))
        , filler(std::move(fill))
        , cap(maxBytes) {
        server.listen(QHostAddress::LocalHost, 0);
        connect(&server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = server.nextPendingConnection())
                serve(s);
        });
    }
    void serve(QTcpSocket* s) {
        ++connections;
        auto received = std::make_shared<QByteArray>();
        auto pump = [this, s] {
            while (sent < cap && s->bytesToWrite() < 1024 * 1024) {
                s->write(filler);
                sent += filler.size();
            }
        };
        connect(s, &QTcpSocket::readyRead, s, [s, received, pump, this] {
            *received += s->readAll();
            if (received->startsWith("*1\r\n$4\r\nPING\r\n")) {
                received->remove(0, 14);
                s->write("+PONG\r\n");
            }
            if (!received->isEmpty()) { // the command under test
                received->clear();
                s->write(head);
                connect(s, &QTcpSocket::bytesWritten, s, pump);
                pump();
            }
        });
        connect(s, &QTcpSocket::disconnected, s, [this, s] {
            clientClosed = true;
            s->deleteLater();
        });
    }
    quint16 port() const { return server.serverPort(); }
};

qint64 readsProcessed(RedisConnection& c) {
    auto out = std::make_shared<std::optional<RedisReply>>();
    c.command({"INFO", "stats"}, [out](const RedisReply& r) { *out = r; });
    if (!QTest::qWaitFor([&] { return out->has_value(); }, 10000))
        return -1;
    for (const QByteArray& line : (*out)->string.split('\n'))
        if (line.startsWith("total_reads_processed:"))
            return line.mid(22).trimmed().toLongLong();
    return -1;
}

} // namespace

class RedisReaderTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parsesWhateverArrived() {
        RedisReplyReader whole;
        whole.feed(kMixed);
        checkMixed(drain(whole));
        QVERIFY(!whole.failed());
        QCOMPARE(whole.buffered(), 0);

        RedisReplyReader bytes; // one byte per read: every reply split at every point
        QList<RedisReply> got;
        for (char c : kMixed) {
            bytes.feed(&c, 1);
            got += drain(bytes);
        }
        checkMixed(got);
    }

    void protocolErrorsStopTheReader() {
        RedisReplyReader reader;
        reader.feed(QByteArray("+OK\r\n?what\r\n:1\r\n"));
        QVERIFY(reader.next());
        QVERIFY(!reader.next());
        QVERIFY(reader.failed());
        QVERIFY2(reader.error().startsWith(QLatin1String("protocol error: ")),
                 qPrintable(reader.error()));
        reader.feed(QByteArray(":2\r\n"));
        QVERIFY(!reader.next()); // stays failed: the connection must go
    }

    void survivesMutatedInput() {
        // Seeded mutations of valid traffic, fed in random slices: every outcome is replies
        // and/or one named error, never a crash (HERALD_SANITIZE checks memory as well).
        QRandomGenerator rng(20261123);
        const QByteArrayList tokens{"*", "$", ":", "+", "-", "\r\n", "-1", "2147483647", "0"};
        int replies = 0, errors = 0;
        for (int round = 0; round < 3000; ++round) {
            QByteArray input = kMixed;
            for (int edits = 1 + rng.bounded(6); edits > 0; --edits) {
                const int at = rng.bounded(static_cast<int>(input.size()) + 1);
                switch (rng.bounded(3)) {
                case 0:
                    input.insert(at, tokens.at(rng.bounded(static_cast<int>(tokens.size()))));
                    break;
                case 1:
                    input.remove(at, 1 + rng.bounded(3));
                    break;
                default:
                    if (at < input.size())
                        input[at] = static_cast<char>(rng.bounded(256));
                }
            }
            RedisReplyReader reader(64 * 1024);
            for (qsizetype pos = 0; pos < input.size() && !reader.failed();) {
                const qsizetype n = 1 + rng.bounded(16);
                reader.feed(input.constData() + pos, std::min(n, input.size() - pos));
                pos += n;
                replies += static_cast<int>(drain(reader).size());
            }
            if (reader.failed()) {
                ++errors;
                QVERIFY(!reader.error().isEmpty());
                QCOMPARE(reader.buffered(), 0);
            }
        }
        QVERIFY(replies > 0 && errors > 0); // both paths were exercised
    }

    void theBudgetHolds_data() {
        QTest::addColumn<QByteArray>("head");
        QTest::addColumn<QByteArray>("filler");
        QTest::newRow("endless line") << QByteArray("+") << QByteArray(4096, 'a');
        QTest::newRow("gigantic string") << QByteArray("$1000000000\r\n") << QByteArray(4096, 'b');
        QTest::newRow("endless array")
            << QByteArray("*2147483647\r\n") << QByteArray(":1\r\n").repeated(1024);
        QTest::newRow("array of big strings")
            << QByteArray("*1000\r\n") << QByteArray("$4090\r\n") + QByteArray(4090, 'c') + "\r\n";
        QTest::newRow("arrays of arrays") // small on the wire, large in memory
            << QByteArray("*1000\r\n")
            << QByteArray("*1000\r\n") + QByteArray("$1\r\nd\r\n").repeated(1000);
    }

    void theBudgetHolds() {
        QFETCH(QByteArray, head);
        QFETCH(QByteArray, filler);
        constexpr qint64 limit = 1024 * 1024;
        RedisReplyReader reader(limit);
        reader.feed(head);
        qint64 fed = head.size();
        while (!reader.failed() && fed < 64 * limit) {
            QVERIFY(!reader.next());
            reader.feed(filler);
            fed += filler.size();
        }
        QVERIFY2(reader.failed(), "the reader took 64 times its limit");
        QVERIFY2(fed <= 2 * limit, qPrintable(QString::number(fed)));
        QVERIFY2(reader.error().contains(QLatin1String("exceeds the limit of 1048576 bytes")),
                 qPrintable(reader.error()));
        QCOMPARE(reader.buffered(), 0); // released at once
    }

    void theBudgetIsPerReply() {
        RedisReplyReader reader(1024 * 1024);
        const QByteArray big(700 * 1024, 'x');
        for (int i = 0; i < 4; ++i) {
            reader.feed("$" + QByteArray::number(big.size()) + "\r\n" + big + "\r\n");
            const auto r = reader.next();
            QVERIFY(r && r->string == big);
        }
        QVERIFY(!reader.failed());
    }

    void aGiganticReplyDropsTheConnection() {
        EndlessRedis fake("$1000000000\r\n", QByteArray(64 * 1024, 'x'), 256LL * 1024 * 1024);
        RedisConnection c(std::get<RedisUrl>(
            RedisUrl::parse(QStringLiteral("redis://127.0.0.1:%1").arg(fake.port()))));
        c.setMaxReplyBytes(2 * 1024 * 1024);
        c.setBackoff(20, 100);
        QSignalSpy down(&c, &RedisConnection::down);
        c.start();
        QTRY_VERIFY(c.isReady());
        auto answers = std::make_shared<QList<RedisReply>>();
        c.command({"GET", "huge"}, [answers](const RedisReply& r) { answers->append(r); });
        QTRY_VERIFY_WITH_TIMEOUT(!down.isEmpty(), 30000);
        const QString reason = down.first().first().toString();
        QVERIFY2(reason ==
                     QLatin1String("connection lost: a reply exceeds the limit of 2097152 bytes"),
                 qPrintable(reason));
        QTRY_COMPARE(answers->size(), 1);
        QVERIFY(answers->first().local && answers->first().isError());
        QTRY_VERIFY(fake.clientClosed);
        // It stopped reading long before the server's cap (what sat in socket buffers aside).
        QVERIFY2(fake.sent < 64LL * 1024 * 1024, qPrintable(QString::number(fake.sent)));
        QTRY_VERIFY(fake.connections >= 2 && c.isReady()); // and it reconnects
        QCOMPARE(answers->size(), 1);
    }

    void commandsOfOnePassLeaveInOneWrite() {
        RedisProcess redis;
        QString error;
        QVERIFY2(redis.start(&error), qPrintable(error));
        const RedisUrl url = std::get<RedisUrl>(RedisUrl::parse(redis.url()));
        RedisConnection c(url), probe(url);
        c.start();
        probe.start();
        QTRY_VERIFY(c.isReady() && probe.isReady());
        const qint64 before = readsProcessed(probe);
        QVERIFY(before > 0);
        auto answers = std::make_shared<int>(0);
        constexpr int n = 300;
        for (int i = 0; i < n; ++i)
            c.command({"INCR", "pipelined"}, [answers, i](const RedisReply& r) {
                *answers += r.integer == i + 1; // in order, each exactly once
            });
        QTRY_COMPARE(*answers, n);
        // 300 commands (~10 KB) in one write are one read for Redis; the probe's INFO is another.
        const qint64 reads = readsProcessed(probe) - before;
        QVERIFY2(reads >= 2 && reads <= 3, qPrintable(QString::number(reads)));
    }
};

QTEST_GUILESS_MAIN(RedisReaderTest)
#include "tst_redis_reader.moc"
