// rediss:// against real TLS redis-servers (certificates made by the test with openssl):
// commands and pub/sub between two brokers, the server's certificate checked against the CA and
// the host name, clear errors with retries for a wrong CA or unreadable files, mutual TLS, and
// subscriptions that survive a Redis restart. Every wait is a poll with a deadline.

#include "server/RedisBroker.h"
#include "server/RedisConnection.h"
#include "tests/common/BrokerInbox.h"
#include "tests/common/RedisProcess.h"

#include <QFile>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace herald;
using herald::test::Inbox;
using herald::test::RedisProcess;
using herald::test::RedisTls;

namespace {

RedisUrl urlOf(const QString& text) {
    const auto parsed = RedisUrl::parse(text);
    if (const auto* e = std::get_if<QString>(&parsed))
        qFatal("bad test URL %s: %s", qPrintable(text), qPrintable(*e));
    return std::get<RedisUrl>(parsed);
}

std::optional<RedisReply> run(RedisConnection& c, const QByteArrayList& argv,
                              int timeoutMs = 10000) {
    auto out = std::make_shared<std::optional<RedisReply>>();
    c.command(argv, [out](const RedisReply& r) { *out = r; });
    if (!QTest::qWaitFor([&] { return out->has_value(); }, timeoutMs))
        return std::nullopt;
    return *out;
}

std::unique_ptr<RedisBroker> broker(const RedisUrl& u) {
    auto b =
        std::make_unique<RedisBroker>(u, QByteArray("herald:"), QList<QPair<QString, QString>>{});
    for (RedisConnection* c : {&b->commands(), &b->subscriber()})
        c->setBackoff(20, 300);
    return b;
}

// Starts a connection that must fail, waits for two failures (it keeps retrying) and returns
// the first reason.
QString refusal(const RedisUrl& url, int connectTimeoutMs = 10000) {
    RedisConnection c(url, QStringLiteral("refused"));
    c.setBackoff(20, 100);
    c.setConnectTimeout(connectTimeoutMs);
    QSignalSpy down(&c, &RedisConnection::down);
    c.start();
    if (!QTest::qWaitFor([&] { return down.count() >= 2; }, 15000))
        return QStringLiteral("<no second failure>");
    if (c.isReady())
        return QStringLiteral("<became ready>");
    return down.first().first().toString();
}

} // namespace

class RedisTlsTest : public QObject {
    Q_OBJECT
    RedisProcess tls_{{}, RedisTls::On};
    RedisProcess mutual_{{}, RedisTls::ClientCertificate};

    QString base(const QString& host = QStringLiteral("127.0.0.1")) const {
        return QStringLiteral("rediss://%1:%2").arg(host).arg(tls_.port());
    }

private Q_SLOTS:
    void initTestCase() {
        QString error;
        QVERIFY2(tls_.start(&error), qPrintable(error));
        QVERIFY2(mutual_.start(&error), qPrintable(error));
    }

    void parsesTlsOptions() {
        const RedisUrl u = urlOf(QStringLiteral("rediss://alice:s3cret@redis.internal:6380/2?ca=/"
                                                "etc/a%40b/ca.pem&cert=/c.pem&key=/k.pem"));
        QVERIFY(u.tls && u.verifyPeer);
        QCOMPARE(u.host, QStringLiteral("redis.internal"));
        QCOMPARE(int(u.port), 6380);
        QCOMPARE(u.db, 2);
        QCOMPARE(u.caFile, QStringLiteral("/etc/a@b/ca.pem"));
        QCOMPARE(u.certFile, QStringLiteral("/c.pem"));
        QCOMPARE(u.keyFile, QStringLiteral("/k.pem"));
        QCOMPARE(u.redacted(), QStringLiteral("rediss://alice:***@redis.internal:6380/2"
                                              "?ca=/etc/a%40b/ca.pem&cert=/c.pem&key=/k.pem"));
        QVERIFY(!urlOf(QStringLiteral("rediss://h?verify=none")).verifyPeer);
        QVERIFY(urlOf(QStringLiteral("REDISS://h")).tls);
        QVERIFY(!urlOf(QStringLiteral("redis://h")).tls);
        // A '?' in an unencoded password is not mistaken for the options.
        QCOMPARE(urlOf(QStringLiteral("rediss://:pa?ss@h?ca=/x")).password, QByteArray("pa?ss"));
        auto error = [](const char* text) {
            const auto r = RedisUrl::parse(QString::fromUtf8(text));
            return std::holds_alternative<QString>(r) ? std::get<QString>(r) : QString();
        };
        QVERIFY(error("redis://h?ca=/x").contains(QLatin1String("needs rediss://")));
        QVERIFY(error("rediss://h?cafile=/x").contains(QLatin1String("not supported")));
        QVERIFY(error("rediss://h?cert=/c.pem").contains(QLatin1String("go together")));
        QVERIFY(error("rediss://h?ca=").contains(QLatin1String("needs a value")));
        QVERIFY(error("rediss://h?verify=maybe").contains(QLatin1String("full or none")));
        QVERIFY(error("rediss://:topsecret@h?x=1").indexOf(QLatin1String("topsecret")) < 0);
    }

    void commandsAndPubSubOverTls() {
        RedisConnection c(urlOf(tls_.url()), QStringLiteral("tls"));
        c.start();
        QTRY_VERIFY_WITH_TIMEOUT(c.isReady(), 15000);
        const QByteArray value("a\0b\r\n", 5);
        QVERIFY(run(c, {"SET", "tls-key", value}));
        QCOMPARE(run(c, {"GET", "tls-key"})->string, value);

        auto a = broker(urlOf(tls_.url()));
        auto b = broker(urlOf(tls_.url()));
        QCOMPARE(a->describe(), QStringLiteral("rediss 127.0.0.1:%1").arg(tls_.port()));
        Inbox inA(*a), inB(*b);
        a->subscribe(QStringLiteral("public.news"));
        b->subscribe(QStringLiteral("public.news"));
        a->start();
        b->start();
        QTRY_VERIFY_WITH_TIMEOUT(a->isReady() && b->isReady(), 15000);
        // Bigger than one TLS record: arrives in pieces and is put back together.
        const QByteArray large(3 * 1024 * 1024 + 7, 'z');
        auto acks = std::make_shared<int>(0);
        for (const QByteArray& payload : {QByteArray("hello"), large, QByteArray("marker")})
            a->publish(QStringLiteral("public.news"), payload,
                       [acks](std::optional<Error> e) { *acks += e ? 100 : 1; });
        QTRY_VERIFY_WITH_TIMEOUT(inA.count(QStringLiteral("public.news"), "marker") == 1 &&
                                     inB.count(QStringLiteral("public.news"), "marker") == 1,
                                 15000);
        QTRY_COMPARE(*acks, 3);
        for (const Inbox* in : {&inA, &inB}) {
            QCOMPARE(in->items.size(), 3);
            QCOMPARE(in->count(QStringLiteral("public.news"), "hello"), 1);
            QCOMPARE(in->items[1].second, large);
        }
    }

    void theHostNameIsVerified() {
        // "localhost" is in the certificate; 127.0.0.2 (where Redis listens too) is not.
        RedisConnection byName(
            urlOf(base(QStringLiteral("localhost")) + QStringLiteral("?ca=") + tls_.caFile()));
        byName.start();
        QTRY_VERIFY_WITH_TIMEOUT(byName.isReady(), 15000);
        const QString reason = refusal(
            urlOf(base(QStringLiteral("127.0.0.2")) + QStringLiteral("?ca=") + tls_.caFile()));
        QVERIFY2(reason.startsWith(QLatin1String("cannot connect: TLS handshake with 127.0.0.2 "
                                                 "failed: ")) &&
                     reason.contains(QLatin1String("host name did not match")),
                 qPrintable(reason));
    }

    void anUnknownCaIsRefused() {
        const QString wrong = refusal(urlOf(base() + QStringLiteral("?ca=") + tls_.otherCaFile()));
        QVERIFY2(wrong.startsWith(QLatin1String("cannot connect: TLS handshake with 127.0.0.1 "
                                                "failed: ")) &&
                     wrong.contains(QLatin1String("certificate"), Qt::CaseInsensitive),
                 qPrintable(wrong));
        // Without ca= the system's CAs decide, and they do not know the test's CA.
        const QString system = refusal(urlOf(base()));
        QVERIFY2(system.contains(QLatin1String("TLS handshake")) &&
                     system.contains(QLatin1String("certificate"), Qt::CaseInsensitive),
                 qPrintable(system));
    }

    void unreadableFilesAreClearErrorsAndRetried() {
        QTemporaryDir dir;
        const QString ca = dir.filePath(QStringLiteral("ca.pem"));
        RedisConnection c(urlOf(base() + QStringLiteral("?ca=") + ca));
        c.setBackoff(20, 100);
        QSignalSpy down(&c, &RedisConnection::down);
        c.start();
        QTRY_VERIFY(down.count() >= 2);
        QVERIFY2(c.lastError().contains(QLatin1String("cannot read the TLS CA file")) &&
                     c.lastError().contains(ca),
                 qPrintable(c.lastError()));
        QFile garbage(ca);
        QVERIFY(garbage.open(QIODevice::WriteOnly) && garbage.write("not a certificate\n") > 0);
        garbage.close();
        QTRY_VERIFY2(c.lastError().contains(QLatin1String("holds no PEM certificate")),
                     qPrintable(c.lastError()));
        QVERIFY(!c.isReady());
        // Each attempt reads the files again: the right CA put in place is picked up.
        QVERIFY(QFile::remove(ca) && QFile::copy(tls_.caFile(), ca));
        QTRY_VERIFY_WITH_TIMEOUT(c.isReady(), 15000);
        QVERIFY(run(c, {"PING"}));

        const QString missingKey = refusal(
            urlOf(base() + QStringLiteral("?ca=%1&cert=%2&key=%3")
                               .arg(tls_.caFile(), tls_.clientCertFile(), dir.filePath("no.key"))));
        QVERIFY2(missingKey.contains(QLatin1String("cannot read the TLS client key file")),
                 qPrintable(missingKey));
    }

    void verifyNoneIsExplicitAndLoud() {
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral(
                                               "TLS CERTIFICATE VERIFICATION IS OFF")));
        // Wrong CA and a host name not in the certificate: only verify=none lets this through.
        RedisConnection c(urlOf(base(QStringLiteral("127.0.0.2")) +
                                QStringLiteral("?ca=%1&verify=none").arg(tls_.otherCaFile())));
        c.start();
        QTRY_VERIFY_WITH_TIMEOUT(c.isReady(), 15000);
        QVERIFY(run(c, {"PING"}));
    }

    void mutualTls() {
        RedisConnection c(urlOf(mutual_.url()), QStringLiteral("mutual"));
        c.start();
        QTRY_VERIFY_WITH_TIMEOUT(c.isReady(), 15000);
        QCOMPARE(run(c, {"PING"})->string, QByteArray("PONG"));

        const QString anonymous = refusal(urlOf(QStringLiteral("rediss://127.0.0.1:%1?ca=%2")
                                                    .arg(mutual_.port())
                                                    .arg(mutual_.caFile())));
        qInfo().noquote() << "without a client certificate:" << anonymous;
        QVERIFY2(anonymous.startsWith(QLatin1String("cannot connect: ")) &&
                     (anonymous.contains(QLatin1String("certificate")) ||
                      anonymous.contains(QLatin1String("client certificate"))),
                 qPrintable(anonymous));
    }

    void plainAndTlsMixUpsAreExplained() {
        const QString plainToTls =
            refusal(urlOf(QStringLiteral("redis://127.0.0.1:%1").arg(tls_.port())));
        QVERIFY2(plainToTls.contains(QLatin1String("rediss://")), qPrintable(plainToTls));
        RedisProcess plain;
        QString error;
        QVERIFY2(plain.start(&error), qPrintable(error));
        const QString tlsToPlain = refusal(
            urlOf(
                QStringLiteral("rediss://127.0.0.1:%1?ca=%2").arg(plain.port()).arg(tls_.caFile())),
            1000);
        QCOMPARE(tlsToPlain,
                 QStringLiteral("cannot connect: no TLS handshake within 1000 ms (not a "
                                "TLS port?)"));
    }

    void subscriptionsSurviveARestart() {
        RedisProcess redis({}, RedisTls::ClientCertificate);
        QString error;
        QVERIFY2(redis.start(&error), qPrintable(error));
        auto a = broker(urlOf(redis.url()));
        auto b = broker(urlOf(redis.url()));
        Inbox inB(*b);
        b->subscribe(QStringLiteral("public.live"));
        a->start();
        b->start();
        QTRY_VERIFY_WITH_TIMEOUT(a->isReady() && b->isReady(), 15000);
        auto pending = std::make_shared<QList<RedisReply>>();
        a->commands().command({"BLPOP", "tls-never", "0"},
                              [pending](const RedisReply& r) { pending->append(r); });
        QVERIFY(run(b->commands(), {"PING"}));

        redis.stop();
        QTRY_VERIFY_WITH_TIMEOUT(!a->isReady() && !b->isReady(), 15000);
        QTRY_COMPARE(pending->size(), 1); // answered once, with an error
        QVERIFY(pending->first().local && pending->first().isError());
        QVERIFY2(a->problem().startsWith(QLatin1String("cannot connect: ")) ||
                     a->problem().startsWith(QLatin1String("connection lost: ")),
                 qPrintable(a->problem()));

        QVERIFY2(redis.restart(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(a->isReady() && b->isReady(), 20000);
        QVERIFY(a->problem().isEmpty());
        auto acked = std::make_shared<int>(0);
        a->publish(QStringLiteral("public.live"), "back",
                   [acked](std::optional<Error> e) { *acked += e ? 100 : 1; });
        QTRY_COMPARE_WITH_TIMEOUT(inB.count(QStringLiteral("public.live"), "back"), 1, 15000);
        QTRY_COMPARE(*acked, 1);
        QCOMPARE(pending->size(), 1);
    }
};

QTEST_GUILESS_MAIN(RedisTlsTest)
#include "tst_redis_tls.moc"
