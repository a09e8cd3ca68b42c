// The Redis layer against a real redis-server: URL parsing, the async connection (handshake,
// binary-safe commands, errors, lifetime), the broker between two "nodes", bridges, AUTH, and
// an outage with recovery. Every wait is a poll with a deadline.

#include "server/RedisBroker.h"
#include "server/RedisConnection.h"
#include "tests/common/BrokerInbox.h"
#include "tests/common/RedisProcess.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>
#include <memory>

using namespace herald;
using herald::test::Inbox;
using herald::test::RedisProcess;

namespace {

RedisUrl urlOf(const QString& text) {
    const auto parsed = RedisUrl::parse(text);
    if (const auto* e = std::get_if<QString>(&parsed))
        qFatal("bad test URL %s: %s", qPrintable(text), qPrintable(*e));
    return std::get<RedisUrl>(parsed);
}

// Runs one command and waits for its answer. The result lives on the heap so a late answer
// after a timeout cannot write into a dead stack frame.
std::optional<RedisReply> run(RedisConnection& c, const QByteArrayList& argv,
                              int timeoutMs = 5000) {
    auto out = std::make_shared<std::optional<RedisReply>>();
    c.command(argv, [out](const RedisReply& r) { *out = r; });
    if (!QTest::qWaitFor([&] { return out->has_value(); }, timeoutMs))
        return std::nullopt;
    return *out;
}

// Dynamic subscriptions are confirmed asynchronously; Redis itself says when they are live.
bool waitSubscribers(RedisConnection& c, const QByteArray& channel, qint64 n,
                     int timeoutMs = 5000) {
    return QTest::qWaitFor(
        [&] {
            const auto r = run(c, {"PUBSUB", "NUMSUB", channel});
            return r && r->elements.size() == 2 && r->elements[1].integer == n;
        },
        timeoutMs);
}

// Everything a broker delivered, in order.

struct PublishResult {
    int calls = 0;
    std::optional<Error> error;
};

Broker::PublishDone recorder(const std::shared_ptr<PublishResult>& r) {
    return [r](std::optional<Error> e) {
        ++r->calls;
        r->error = std::move(e);
    };
}

} // namespace

class RedisTest : public QObject {
    Q_OBJECT
    RedisProcess redis_;

    RedisUrl url() const { return urlOf(redis_.url()); }
    static std::unique_ptr<RedisBroker> broker(const RedisUrl& u,
                                               QList<QPair<QString, QString>> bridges = {}) {
        auto b = std::make_unique<RedisBroker>(u, QByteArray("herald:"), std::move(bridges));
        for (RedisConnection* c : {&b->commands(), &b->subscriber()})
            c->setBackoff(20, 300);
        return b;
    }

private Q_SLOTS:
    void initTestCase() {
        QString error;
        QVERIFY2(redis_.start(&error), qPrintable(error));
    }

    void parseUrl_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("password");
        QTest::addColumn<int>("db");
        QTest::addColumn<QString>("error"); // substring of the error; empty: must parse
        auto ok = [](const char* name, const char* text, const char* host, int port,
                     const char* user, const char* pw, int db) {
            QTest::newRow(name) << QString::fromUtf8(text) << QString::fromUtf8(host) << port
                                << QString::fromUtf8(user) << QString::fromUtf8(pw) << db
                                << QString();
        };
        auto bad = [](const char* name, const char* text, const char* error) {
            QTest::newRow(name) << QString::fromUtf8(text) << QString() << 0 << QString()
                                << QString() << 0 << QString::fromUtf8(error);
        };
        ok("host only", "redis://localhost", "localhost", 6379, "", "", 0);
        ok("port and db", "redis://127.0.0.1:6380/2", "127.0.0.1", 6380, "", "", 2);
        ok("password", "redis://:s3cret@h:1", "h", 1, "", "s3cret", 0);
        ok("user and password", "redis://alice:s3cret@h", "h", 6379, "alice", "s3cret", 0);
        ok("password without colon", "redis://s3cret@h", "h", 6379, "", "s3cret", 0);
        ok("percent-encoded", "redis://:p%40ss%3Aw%2Fd@h", "h", 6379, "", "p@ss:w/d", 0);
        ok("raw @ in password", "redis://:p@ss@h", "h", 6379, "", "p@ss", 0);
        ok("ipv6", "redis://[::1]:7000/3", "::1", 7000, "", "", 3);
        ok("ipv6 default port", "redis://[fe80::1]", "fe80::1", 6379, "", "", 0);
        ok("scheme case", "REDIS://h", "h", 6379, "", "", 0);
        ok("trailing slash", "redis://h:7/", "h", 7, "", "", 0);
        bad("other scheme", "http://h", "must start with redis://");
        bad("no scheme", "localhost:6379", "must start with redis://");
        bad("tls option without tls", "redis://h?ca=/ca.pem", "needs rediss://");
        bad("no host", "redis://", "no host");
        bad("no host with port", "redis://:6379", "no host");
        bad("port zero", "redis://h:0", "1-65535");
        bad("port too big", "redis://h:70000", "1-65535");
        bad("port not a number", "redis://h:abc", "1-65535");
        bad("empty port", "redis://h:", "1-65535");
        bad("ipv6 without brackets", "redis://::1", "brackets");
        bad("unterminated ipv6", "redis://[::1", "bracketed");
        bad("not ipv6 in brackets", "redis://[nothost]:1", "not an IPv6");
        bad("junk after ipv6", "redis://[::1]x", "bracketed");
        bad("empty ipv6", "redis://[]:1", "not an IPv6");
        bad("db not a number", "redis://h/x", "database");
        bad("negative db", "redis://h/-1", "database");
        bad("options", "redis://h?db=1", "not supported");
        bad("empty password", "redis://user:@h", "empty password");
        bad("bad host", "redis://h%b", "not a valid host");
    }

    void parseUrl() {
        QFETCH(QString, text);
        QFETCH(QString, host);
        QFETCH(int, port);
        QFETCH(QString, user);
        QFETCH(QString, password);
        QFETCH(int, db);
        QFETCH(QString, error);
        const auto parsed = RedisUrl::parse(text);
        if (!error.isEmpty()) {
            const auto* e = std::get_if<QString>(&parsed);
            QVERIFY2(e, "expected an error");
            QVERIFY2(e->contains(error), qPrintable(*e));
            return;
        }
        const auto* u = std::get_if<RedisUrl>(&parsed);
        QVERIFY2(u, u ? "" : qPrintable(std::get<QString>(parsed)));
        // QFETCH + QCOMPARE of QStrings: GCC 12 reports a false -Warray-bounds on QTEST and on
        // QByteArray comparisons here.
        QCOMPARE(u->host, host);
        QCOMPARE(int(u->port), port);
        QCOMPARE(QString::fromUtf8(u->username), user);
        QCOMPARE(QString::fromUtf8(u->password), password);
        QCOMPARE(u->db, db);
    }

    void urlErrorsAndLogsHideThePassword() {
        const auto parsed = RedisUrl::parse(QStringLiteral("redis://:topsecret@h:99999"));
        QVERIFY(std::holds_alternative<QString>(parsed));
        QVERIFY(!std::get<QString>(parsed).contains(QLatin1String("topsecret")));
        QCOMPARE(urlOf(QStringLiteral("redis://alice:s3cret@h:1/2")).redacted(),
                 QStringLiteral("redis://alice:***@h:1/2"));
        QCOMPARE(urlOf(QStringLiteral("redis://:s3cret@h")).redacted(),
                 QStringLiteral("redis://:***@h:6379"));
        QCOMPARE(urlOf(QStringLiteral("redis://[::1]")).redacted(),
                 QStringLiteral("redis://[::1]:6379"));
        RedisBroker b(urlOf(QStringLiteral("redis://:s3cret@127.0.0.1:6379")), "herald:", {});
        QCOMPARE(b.describe(), QStringLiteral("redis 127.0.0.1:6379"));
    }

    void bridges() {
        const auto good = parseBridges(
            QStringLiteral(" change-notifier=public.config, other=private.u1.x ,a.*=system"));
        using Bridges = QList<QPair<QString, QString>>;
        QVERIFY2(std::holds_alternative<Bridges>(good),
                 good.index() == 0 ? "" : qPrintable(std::get<QString>(good)));
        const QList<QPair<QString, QString>> expected{
            {QStringLiteral("change-notifier"), QStringLiteral("public.config")},
            {QStringLiteral("other"), QStringLiteral("private.u1.x")},
            {QStringLiteral("a.*"), QStringLiteral("system")}};
        QCOMPARE(std::get<0>(good), expected);
        QVERIFY(std::get<0>(parseBridges(QString())).isEmpty());
        auto error = [](const char* spec) {
            const auto r = parseBridges(QString::fromUtf8(spec));
            return std::holds_alternative<QString>(r) ? std::get<QString>(r) : QString();
        };
        QVERIFY(error("nokey").contains(QLatin1String("raw-channel=routing.key")));
        QVERIFY(error("=public.x").contains(QLatin1String("raw-channel=routing.key")));
        QVERIFY(error("c=").contains(QLatin1String("raw-channel=routing.key")));
        QVERIFY(error("c=config").contains(QLatin1String("not a routing key")));
        QVERIFY(error("c=public.bad name").contains(QLatin1String("not a routing key")));
        QVERIFY(error("c=private.u1").contains(QLatin1String("not a routing key")));
        QVERIFY(error("c=public.a,c=public.b").contains(QLatin1String("twice")));
        QVERIFY(error("a b=public.a").contains(QLatin1String("spaces")));
    }

    void commandsRoundTrip() {
        RedisConnection c(url(), QStringLiteral("test"));
        QSignalSpy ready(&c, &RedisConnection::ready);
        QCOMPARE(c.state(), RedisConnection::State::Disconnected);
        c.start();
        QCOMPARE(c.state(), RedisConnection::State::Connecting);
        QTRY_VERIFY(c.isReady());
        QCOMPARE(ready.count(), 1);

        const QByteArray key("bin\0key\r\n", 9);
        const QByteArray value("a\0b\r\nc\r\n\0", 9);
        auto r = run(c, {"SET", key, value});
        QVERIFY(r);
        QCOMPARE(r->type, RedisReply::Type::Status);
        QCOMPARE(r->string, QByteArray("OK"));
        r = run(c, {"GET", key});
        QVERIFY(r);
        QCOMPARE(r->type, RedisReply::Type::String);
        QCOMPARE(r->string, value);
        r = run(c, {"GET", "no-such-key"});
        QVERIFY(r && r->isNil());
        r = run(c, {"DEL", key});
        QVERIFY(r && r->type == RedisReply::Type::Integer && r->integer == 1);
        r = run(c, {"RPUSH", "list", "x", QByteArray("\0", 1)});
        QVERIFY(r && r->integer == 2);
        r = run(c, {"LRANGE", "list", "0", "-1"});
        QVERIFY(r && r->type == RedisReply::Type::Array && r->elements.size() == 2);
        QCOMPARE(r->elements[1].string, QByteArray("\0", 1));
        run(c, {"DEL", "list"});

        r = run(c, {"NOSUCHCOMMAND", "x"});
        QVERIFY(r && r->isError() && !r->local);
        QVERIFY2(r->errorText().contains(QLatin1String("unknown command")),
                 qPrintable(r->errorText()));
        QVERIFY(c.isReady()); // an error reply is an answer, not a broken connection
    }

    void hostNameIsResolved() {
        RedisConnection c(urlOf(QStringLiteral("redis://localhost:%1").arg(redis_.port())));
        c.start();
        QTRY_VERIFY(c.isReady());
        const auto r = run(c, {"PING"});
        QVERIFY(r && r->string == "PONG");
    }

    void selectsTheDatabase() {
        RedisConnection db5(urlOf(redis_.url() + QStringLiteral("/5")));
        RedisConnection db0(url());
        db5.start();
        db0.start();
        QTRY_VERIFY(db5.isReady() && db0.isReady());
        QVERIFY(run(db5, {"SET", "only-in-5", "v"}));
        QVERIFY(run(db0, {"GET", "only-in-5"})->isNil());
        QCOMPARE(run(db5, {"GET", "only-in-5"})->string, QByteArray("v"));
    }

    void notConnectedIsAnsweredLater() {
        RedisConnection c(url());
        int calls = 0;
        RedisReply got;
        c.command({"PING"}, [&](const RedisReply& r) {
            ++calls;
            got = r;
        });
        QCOMPARE(calls, 0); // never inside command()
        QTRY_COMPARE(calls, 1);
        QVERIFY(got.isError() && got.local);
        QCOMPARE(got.errorText(), QStringLiteral("redis not connected"));
    }

    void stopAnswersOutstandingCommands() {
        RedisConnection c(url());
        c.start();
        QTRY_VERIFY(c.isReady());
        int calls = 0;
        RedisReply got;
        c.command({"BLPOP", "stop-test-never", "0"}, [&](const RedisReply& r) {
            ++calls;
            got = r;
        });
        c.stop();
        QCOMPARE(calls, 0);
        QTRY_COMPARE(calls, 1);
        QVERIFY(got.local && got.errorText().contains(QLatin1String("stopped")));
        QCOMPARE(c.state(), RedisConnection::State::Disconnected);
        c.start(); // usable again
        QTRY_VERIFY(c.isReady());
        QCOMPARE(calls, 1);
    }

    void destructionIsSafe() {
        // Outstanding callbacks of a destroyed connection are discarded.
        int calls = 0;
        auto* c = new RedisConnection(url());
        c->start();
        QTRY_VERIFY(c->isReady());
        c->command({"BLPOP", "destroy-test-never", "0"}, [&](const RedisReply&) { ++calls; });
        delete c;

        // Deleting the connection inside a reply callback, with more replies in the same read.
        auto* d = new RedisConnection(url());
        d->start();
        QTRY_VERIFY(d->isReady());
        int second = 0;
        d->command({"PING"}, [&](const RedisReply&) {
            delete d;
            d = nullptr;
        });
        d->command({"PING"}, [&](const RedisReply&) { ++second; });
        QTRY_VERIFY(d == nullptr);

        // Deleting a subscriber inside its own message signal, with another message queued.
        RedisConnection pub(url());
        pub.start();
        auto* s = new RedisConnection(url());
        s->subscribe("destroy-test");
        s->start();
        QTRY_VERIFY(pub.isReady() && s->isReady());
        int messages = 0;
        connect(s, &RedisConnection::message, this, [&] {
            ++messages;
            delete s;
            s = nullptr;
        });
        pub.command({"PUBLISH", "destroy-test", "1"});
        pub.command({"PUBLISH", "destroy-test", "2"});
        QTRY_VERIFY(s == nullptr);
        QVERIFY(run(pub, {"PING"})); // a round trip later nothing else has fired
        QCOMPARE(messages, 1);
        QCOMPARE(second, 0);
        QCOMPARE(calls, 0);
    }

    void waitsForRedisThatStartsLater() {
        RedisProcess later;
        QString error;
        QVERIFY2(later.start(&error), qPrintable(error));
        later.stop(); // keeps its port; nothing listens there now
        RedisConnection c(urlOf(later.url()));
        c.setBackoff(20, 200);
        QSignalSpy down(&c, &RedisConnection::down);
        c.start();
        QTRY_VERIFY(down.count() >= 2); // it keeps trying
        QVERIFY2(down.first().first().toString().contains(QLatin1String("Connection refused")),
                 qPrintable(down.first().first().toString()));
        QVERIFY(c.lastError().startsWith(QLatin1String("cannot connect: ")));
        QVERIFY2(later.restart(&error), qPrintable(error));
        QTRY_VERIFY(c.isReady());
    }

    void silentServerTimesOut() {
        QTcpServer silent; // accepts, never answers
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        RedisConnection c(urlOf(QStringLiteral("redis://127.0.0.1:%1").arg(silent.serverPort())));
        c.setConnectTimeout(200);
        c.setBackoff(20, 100);
        QSignalSpy down(&c, &RedisConnection::down);
        int calls = 0;
        c.start();
        c.command({"PING"},
                  [&](const RedisReply& r) { calls += r.local ? 1 : 100; }); // not Ready yet
        QTRY_VERIFY(down.count() >= 2);
        QVERIFY2(down.first().first().toString().contains(QLatin1String("no answer within 200 ms")),
                 qPrintable(down.first().first().toString()));
        QCOMPARE(calls, 1);
        c.stop();
    }

    void commandsAreRefusedOnASubscriber() {
        RedisConnection s(url());
        s.subscribe("refuse-test");
        s.start();
        QTRY_VERIFY(s.isReady());
        const auto r = run(s, {"PING"});
        QVERIFY(r && r->local && r->errorText().contains(QLatin1String("subscriber")));
    }

    void brokersDeliverExactlyOnce() {
        auto a = broker(url());
        auto b = broker(url());
        Inbox inA(*a), inB(*b);
        a->subscribe(QStringLiteral("public.news"));
        b->subscribe(QStringLiteral("public.news"));
        b->subscribe(QStringLiteral("public.news")); // callers count; a repeat changes nothing
        a->start();
        b->start();
        QTRY_VERIFY(a->isReady() && b->isReady());
        QVERIFY(waitSubscribers(a->commands(), "herald:public.news", 2));

        auto done = std::make_shared<PublishResult>();
        a->publish(QStringLiteral("public.news"), "hello", recorder(done));
        QCOMPARE(done->calls, 0);
        QTRY_COMPARE(done->calls, 1);
        QVERIFY(!done->error);
        a->publish(QStringLiteral("public.other"), "not-subscribed", {});
        a->publish(QStringLiteral("public.news"), "marker", {});
        // One connection delivers in order: once the marker is in, anything earlier is too.
        QTRY_VERIFY(inA.has(QStringLiteral("public.news"), "marker") &&
                    inB.has(QStringLiteral("public.news"), "marker"));
        QCOMPARE(inB.count(QStringLiteral("public.news"), "hello"), 1);
        QCOMPARE(inA.count(QStringLiteral("public.news"), "hello"),
                 1); // a node hears its own publish
        QCOMPARE(inB.items.size(), 2);
        QCOMPARE(inA.items.size(), 2);

        // Unsubscribed: no longer delivered to b, still to a.
        b->unsubscribe(QStringLiteral("public.news"));
        QVERIFY(waitSubscribers(a->commands(), "herald:public.news", 1));
        a->publish(QStringLiteral("public.news"), "after", {});
        b->subscribe(QStringLiteral("public.marker"));
        QVERIFY(waitSubscribers(a->commands(), "herald:public.marker", 1));
        a->publish(QStringLiteral("public.marker"), "m2", {});
        QTRY_VERIFY(inB.has(QStringLiteral("public.marker"), "m2"));
        QTRY_VERIFY(inA.has(QStringLiteral("public.news"), "after"));
        QVERIFY(!inB.has(QStringLiteral("public.news"), "after"));
    }

    void rawPublishArrives() {
        auto b = broker(url());
        Inbox in(*b);
        b->start();
        QTRY_VERIFY(b->isReady());
        b->subscribe(QStringLiteral("public.x"));
        QVERIFY(waitSubscribers(b->commands(), "herald:public.x", 1));
        RedisConnection other(url()); // any service, e.g. redis-cli PUBLISH herald:public.x ...
        other.start();
        QTRY_VERIFY(other.isReady());
        const QByteArray payload("{\"v\":\"\\u0000\"}\r\n");
        const auto r = run(other, {"PUBLISH", "herald:public.x", payload});
        QVERIFY(r && r->integer == 1);
        QTRY_COMPARE(in.items.size(), 1);
        QCOMPARE(in.items.first(),
                 (QPair<QString, QByteArray>(QStringLiteral("public.x"), payload)));
    }

    void manyAndLargeMessagesArriveInOrder() {
        auto b = broker(url());
        Inbox in(*b);
        b->subscribe(QStringLiteral("public.bulk"));
        b->start();
        QTRY_VERIFY(b->isReady());
        RedisConnection other(url());
        other.start();
        QTRY_VERIFY(other.isReady());
        const int n = 5000; // pipelined: many replies per socket read, partial frames between reads
        auto acks = std::make_shared<int>(0);
        for (int i = 0; i < n; ++i)
            other.command(
                {"PUBLISH", "herald:public.bulk", QByteArray::number(i).leftJustified(300, '.')},
                [acks](const RedisReply& r) { *acks += r.integer == 1; });
        const QByteArray large(1 << 20, 'x');
        other.command({"PUBLISH", "herald:public.bulk", large});
        QTRY_COMPARE_WITH_TIMEOUT(in.items.size(), n + 1, 20000);
        QCOMPARE(*acks, n);
        for (int i = 0; i < n; ++i)
            QCOMPARE(in.items[i].second, QByteArray::number(i).leftJustified(300, '.'));
        QCOMPARE(in.items.last().second, large);
    }

    void bridgedChannelsArriveUnderTheirKey() {
        auto b =
            broker(url(), {{QStringLiteral("change-notifier"), QStringLiteral("public.config")},
                           {QStringLiteral("orders.*"), QStringLiteral("public.orders")}});
        Inbox in(*b);
        b->subscribe(QStringLiteral("public.*")); // a pattern key arrives under the pattern
        b->start();
        QTRY_VERIFY(b->isReady()); // Ready includes the confirmed replay of the bridges
        RedisConnection other(url());
        other.start();
        QTRY_VERIFY(other.isReady());
        run(other, {"PUBLISH", "change-notifier", "cfg"});
        run(other, {"PUBLISH", "orders.42", "o42"});
        run(other, {"PUBLISH", "herald:public.y", "y"});
        QTRY_COMPARE(in.items.size(), 3);
        QVERIFY(in.has(QStringLiteral("public.config"), "cfg"));
        QVERIFY(in.has(QStringLiteral("public.orders"), "o42"));
        QVERIFY(in.has(QStringLiteral("public.*"), "y"));
        b->unsubscribe(QStringLiteral("public.*"));
        QTRY_VERIFY(run(other, {"PUBSUB", "NUMPAT"})->integer == 1); // the bridge pattern stays
    }

    void authentication() {
        RedisProcess secured({QStringLiteral("--requirepass"), QStringLiteral("s3cret")});
        QString error;
        QVERIFY2(secured.start(&error), qPrintable(error));

        RedisConnection good(urlOf(secured.url("s3cret")));
        RedisConnection named(
            urlOf(QStringLiteral("redis://default:s3cret@127.0.0.1:%1").arg(secured.port())));
        good.start();
        named.start();
        QTRY_VERIFY(good.isReady() && named.isReady());
        QVERIFY(run(good, {"SET", "k", "v"}));
        QCOMPARE(run(named, {"GET", "k"})->string, QByteArray("v"));

        RedisConnection wrong(urlOf(secured.url("nope")));
        QSignalSpy down(&wrong, &RedisConnection::down);
        wrong.start();
        QTRY_VERIFY(!down.isEmpty());
        const QString reason = down.first().first().toString();
        QVERIFY2(reason.contains(QLatin1String("AUTH failed")) &&
                     reason.contains(QLatin1String("WRONGPASS")),
                 qPrintable(reason));
        QVERIFY(!reason.contains(QLatin1String("nope")));
        QVERIFY(!wrong.isReady());

        RedisConnection missing(urlOf(secured.url()));
        QSignalSpy downMissing(&missing, &RedisConnection::down);
        missing.start();
        QTRY_VERIFY(!downMissing.isEmpty());
        QVERIFY2(downMissing.first().first().toString().contains(QLatin1String("NOAUTH")),
                 qPrintable(downMissing.first().first().toString()));
    }

    void outageAndRecovery() {
        RedisProcess redis;
        QString error;
        QVERIFY2(redis.start(&error), qPrintable(error));
        const RedisUrl u = urlOf(redis.url());
        auto a = broker(u);
        auto b = broker(u);
        Inbox inB(*b);
        b->subscribe(QStringLiteral("public.live"));
        QSignalSpy readyA(a.get(), &Broker::readyChanged);
        QSignalSpy downA(&a->commands(), &RedisConnection::down);
        a->start();
        b->start();
        QTRY_VERIFY(a->isReady() && b->isReady());
        QCOMPARE(readyA.count(), 1);
        QCOMPARE(readyA.last().first().toBool(), true);

        auto blocked = std::make_shared<QList<RedisReply>>();
        a->commands().command({"BLPOP", "outage-never", "0"},
                              [blocked](const RedisReply& r) { blocked->append(r); });
        QVERIFY(run(b->commands(), {"PING"})); // b's round trip gives a's BLPOP time to leave

        redis.stop();
        QTRY_VERIFY(!a->isReady() && !b->isReady());
        QTRY_COMPARE(readyA.count(), 2);
        QCOMPARE(readyA.last().first().toBool(), false);
        QTRY_COMPARE(blocked->size(), 1);
        QVERIFY(blocked->first().local && blocked->first().isError());
        QVERIFY(!downA.isEmpty());

        auto failed = std::make_shared<PublishResult>();
        a->publish(QStringLiteral("public.live"), "lost", recorder(failed));
        QCOMPARE(failed->calls, 0);
        QTRY_COMPARE(failed->calls, 1);
        QVERIFY(failed->error);
        QCOMPARE(failed->error->code, ErrorCode::Unavailable);
        QVERIFY2(failed->error->message.startsWith(QLatin1String("redis unreachable: ")),
                 qPrintable(failed->error->message));

        QVERIFY2(redis.restart(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(a->isReady() && b->isReady(), 15000);
        QCOMPARE(readyA.last().first().toBool(), true);

        // b replayed its subscription before calling itself ready, so this is delivered.
        auto done = std::make_shared<PublishResult>();
        a->publish(QStringLiteral("public.live"), "back", recorder(done));
        QTRY_VERIFY(inB.has(QStringLiteral("public.live"), "back"));
        QTRY_COMPARE(done->calls, 1);
        QVERIFY(!done->error);
        QCOMPARE(failed->calls, 1);
        QCOMPARE(blocked->size(), 1);
        QVERIFY(!inB.has(QStringLiteral("public.live"), "lost"));
    }
};

QTEST_GUILESS_MAIN(RedisTest)
#include "tst_redis.moc"
