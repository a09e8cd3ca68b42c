// Redis Sentinel below the node: redis-sentinel:// URLs, SentinelResolver against a real Sentinel
// (redis-server --sentinel) watching a real master and replica, the connection's ROLE check,
// and the broker's description. The failover itself is tests/integration/tst_sentinel.cpp.
// (Its own file: tst_redis.cpp, where the other URL cases are, is past the 500-line mark.)

#include "server/RedisBroker.h"
#include "server/RedisConnection.h"
#include "server/SentinelResolver.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/RedisTestSupport.h"
#include "tests/common/SentinelProcess.h"

#include <QHostAddress>
#include <QTcpServer>
#include <QTest>
#include <memory>

using namespace herald;
using herald::test::RedisProcess;
using herald::test::SentinelProcess;
using herald::test::urlOf;

namespace {

quint16 closedPort() {
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort(); // nothing listens there once this returns
}

// Waits for resolve()'s answer; checks it never comes inside the call.
RedisConnection::Endpoint resolveNow(SentinelResolver& r) {
    auto out = std::make_shared<std::optional<RedisConnection::Endpoint>>();
    r.resolve([out](const RedisConnection::Endpoint& e) { *out = e; });
    if (out->has_value())
        return QStringLiteral("answered inside resolve()");
    if (!QTest::qWaitFor([&] { return out->has_value(); }, 20000))
        return QStringLiteral("no answer within 20 s");
    return **out;
}

bool isAddress(const RedisConnection::Endpoint& e) {
    return e.index() == 0;
}

QString errorOf(const RedisConnection::Endpoint& e) {
    return std::holds_alternative<QString>(e) ? std::get<QString>(e) : QString();
}

} // namespace

class RedisSentinelTest : public QObject {
    Q_OBJECT
    RedisProcess master_;
    std::unique_ptr<RedisProcess> replica_;
    std::unique_ptr<SentinelProcess> sentinel_;

    QString sentinelUrl(const QString& master) const {
        return QStringLiteral("redis-sentinel://127.0.0.1:%1?master=%2")
            .arg(sentinel_->port())
            .arg(master);
    }

private Q_SLOTS:
    void initTestCase() {
        QString error;
        QVERIFY2(master_.start(&error), qPrintable(error));
        replica_ = std::make_unique<RedisProcess>(QStringList{QStringLiteral("--replicaof"),
                                                              QStringLiteral("127.0.0.1"),
                                                              QString::number(master_.port())});
        QVERIFY2(replica_->start(&error), qPrintable(error));
        sentinel_ = std::make_unique<SentinelProcess>(QStringLiteral("mymaster"), master_.port(), 1,
                                                      60000, 60000); // never fails over here
        QVERIFY2(sentinel_->start(&error), qPrintable(error));
    }

    void parse_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected"); // redacted() of the result, or the error's start
        auto row = [](const char* name, const char* text, const char* expected) {
            QTest::newRow(name) << QString::fromUtf8(text) << QString::fromUtf8(expected);
        };
        row("one sentinel, default port", "redis-sentinel://s1?master=mymaster",
            "redis-sentinel://s1:26379?master=mymaster");
        row("several, v6, db", "REDIS-SENTINEL://s1:26380,s2,[::1]:7000/2?master=m",
            "redis-sentinel://s1:26380,s2:26379,[::1]:7000/2?master=m");
        row("passwords hidden",
            "redis-sentinel://alice:pw@s1:1?sentinel_user=bob&sentinel_password=x%40y&master=m",
            "redis-sentinel://alice:***@s1:1?master=m&sentinel_user=bob&sentinel_password=***");
        row("no master", "redis-sentinel://s1,s2", "error: redis-sentinel URL needs ?master=NAME");
        row("empty master", "redis-sentinel://s1?master=",
            "error: redis URL option \"master\" "
            "needs a value");
        row("bad port", "redis-sentinel://s1,s2:0?master=m",
            "error: Sentinel \"s2:0\": redis port must be 1-65535");
        row("empty sentinel", "redis-sentinel://s1,,s2?master=m",
            "error: redis-sentinel URL has an empty Sentinel address");
        row("no sentinel", "redis-sentinel://?master=m",
            "error: redis-sentinel URL has an empty Sentinel address");
        row("v6 unbracketed", "redis-sentinel://::1?master=m", "error: Sentinel \"::1\": an IPv6");
        row("bad db", "redis-sentinel://s1/x?master=m", "error: redis database must be a number");
        row("master on redis://", "redis://h?master=m",
            "error: redis URL option \"master\" needs redis-sentinel://");
        row("tls option", "redis-sentinel://s1?master=m&ca=/x",
            "error: redis URL option \"ca\" is not supported with redis-sentinel://");
        row("unknown option", "redis-sentinel://s1?master=m&x=1",
            "error: redis URL option \"x\" is not supported (known: master, sentinel_user, "
            "sentinel_password)");
    }

    void parse() {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        const auto parsed = RedisUrl::parse(text);
        const QString got = std::holds_alternative<RedisUrl>(parsed)
                                ? std::get<RedisUrl>(parsed).redacted()
                                : QStringLiteral("error: ") + std::get<QString>(parsed);
        QVERIFY2(got.startsWith(expected), qPrintable(got));
        if (const auto* url = std::get_if<RedisUrl>(&parsed)) {
            QVERIFY(url->isSentinel());
            QVERIFY(url->host.isEmpty()); // the master's address is Sentinel's to say
            QVERIFY(!url->tls);
        }
    }

    void parsedFields() {
        const RedisUrl u = urlOf(QStringLiteral(
            "redis-sentinel://:pw@s1:1,s2/3?master=m&sentinel_user=bob&sentinel_password=x%40y"));
        QCOMPARE(u.sentinels.size(), 2);
        QCOMPARE(u.sentinels[1].host, QStringLiteral("s2"));
        QCOMPARE(int(u.sentinels[1].port), 26379);
        QCOMPARE(u.masterName, QStringLiteral("m"));
        QCOMPARE(u.password, QByteArray("pw"));
        QCOMPARE(u.sentinelUsername, QByteArray("bob"));
        QCOMPARE(u.sentinelPassword, QByteArray("x@y"));
        QCOMPARE(u.db, 3);
        QCOMPARE(u.endpoint(), QStringLiteral("master m/3"));
        QCOMPARE(u.sentinelList(), QStringLiteral("s1:1,s2:26379"));
        QVERIFY(!urlOf(QStringLiteral("redis://h")).isSentinel());
    }

    void resolverFindsTheMaster() {
        SentinelResolver r(urlOf(sentinelUrl(QStringLiteral("mymaster"))));
        const auto answer = resolveNow(r);
        QVERIFY2(isAddress(answer), qPrintable(errorOf(answer)));
        QCOMPARE(std::get<0>(answer).first, QStringLiteral("127.0.0.1"));
        QCOMPARE(std::get<0>(answer).second, master_.port());
        QCOMPARE(r.master(), QStringLiteral("127.0.0.1:%1").arg(master_.port()));
    }

    void resolverSkipsADeadSentinel() {
        const quint16 dead = closedPort();
        SentinelResolver r(urlOf(QStringLiteral("redis-sentinel://127.0.0.1:%1,127.0.0.1:%2"
                                                "?master=mymaster")
                                     .arg(dead)
                                     .arg(sentinel_->port())));
        // Two questions during one round share its answer.
        auto second = std::make_shared<std::optional<RedisConnection::Endpoint>>();
        r.resolve([second](const RedisConnection::Endpoint& e) { *second = e; });
        const auto answer = resolveNow(r);
        QVERIFY2(isAddress(answer), qPrintable(errorOf(answer)));
        QCOMPARE(std::get<0>(answer).second, master_.port());
        QTRY_VERIFY(second->has_value());
        QVERIFY(isAddress(**second));

        SentinelResolver none(
            urlOf(QStringLiteral("redis-sentinel://127.0.0.1:%1?master=mymaster").arg(dead)));
        const QString error = errorOf(resolveNow(none));
        QVERIFY2(error.startsWith(QStringLiteral("no sentinel answered: 127.0.0.1:%1: ").arg(dead)),
                 qPrintable(error));
    }

    void resolverNamesAnUnknownMaster() {
        SentinelResolver r(urlOf(sentinelUrl(QStringLiteral("nosuch"))));
        const QString error = errorOf(resolveNow(r));
        QVERIFY2(error.startsWith(QStringLiteral("sentinels do not know master nosuch")),
                 qPrintable(error));
    }

    void connectionRefusesAReplica() {
        auto sourceFor = [](quint16 port) {
            return [port](const std::function<void(const RedisConnection::Endpoint&)>& done) {
                done(std::pair{QStringLiteral("127.0.0.1"), port});
            };
        };
        RedisConnection onReplica(urlOf(sentinelUrl(QStringLiteral("mymaster"))),
                                  QStringLiteral("commands"));
        onReplica.setBackoff(50, 200);
        onReplica.setEndpointSource(sourceFor(replica_->port()), true);
        onReplica.start();
        QTRY_VERIFY_WITH_TIMEOUT(onReplica.lastError().contains(QLatin1String("is a replica")),
                                 15000);
        QCOMPARE(onReplica.lastError(),
                 QStringLiteral("cannot connect: 127.0.0.1:%1 is a replica, asking sentinel again")
                     .arg(replica_->port()));
        QVERIFY(!onReplica.isReady());

        RedisConnection onMaster(urlOf(sentinelUrl(QStringLiteral("mymaster"))));
        onMaster.setEndpointSource(sourceFor(master_.port()), true);
        onMaster.start();
        QTRY_VERIFY_WITH_TIMEOUT(onMaster.isReady(), 15000);
        QCOMPARE(onMaster.url().port, master_.port());
        QVERIFY(!onReplica.isReady()); // still refused, however often it retried
    }

    void brokerDescribesTheMaster() {
        RedisBroker b(urlOf(sentinelUrl(QStringLiteral("mymaster"))), "herald:", {});
        QCOMPARE(b.describe(), QStringLiteral("redis-sentinel master mymaster via 127.0.0.1:%1")
                                   .arg(sentinel_->port()));
        b.start();
        QTRY_VERIFY_WITH_TIMEOUT(b.isReady(), 15000);
        QCOMPARE(
            b.describe(),
            QStringLiteral("redis-sentinel master mymaster at 127.0.0.1:%1").arg(master_.port()));
        QTRY_VERIFY_WITH_TIMEOUT(b.sentinel()->isWatching(), 15000);
        b.stop();

        RedisBroker unknown(urlOf(sentinelUrl(QStringLiteral("nosuch"))), "herald:", {});
        unknown.start();
        QTRY_VERIFY_WITH_TIMEOUT(unknown.problem().contains(QLatin1String("sentinels do not know")),
                                 15000);
        QVERIFY2(unknown.problem().startsWith(
                     QStringLiteral("cannot connect: sentinels do not know master nosuch")),
                 qPrintable(unknown.problem()));
        QVERIFY(!unknown.isReady());
        unknown.stop();
    }
};

QTEST_GUILESS_MAIN(RedisSentinelTest)
#include "tst_redis_sentinel.moc"
