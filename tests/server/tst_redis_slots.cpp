// Redis Cluster addressing (server/RedisSlots.h) and the redis-cluster:// URL. The slots are
// also checked against a real cluster's CLUSTER KEYSLOT in tst_redis_cluster (streams land on
// the master Redis names).
#include "server/RedisShards.h"
#include "server/RedisSlots.h"

#include <QTest>

using namespace herald;
using namespace herald::redisslots;

namespace {
RedisReply integer(qint64 v) {
    RedisReply r;
    r.type = RedisReply::Type::Integer;
    r.integer = v;
    return r;
}
RedisReply string(const QByteArray& s) {
    RedisReply r;
    r.type = RedisReply::Type::String;
    r.string = s;
    return r;
}
RedisReply array(std::vector<RedisReply> elements) {
    RedisReply r;
    r.type = RedisReply::Type::Array;
    r.elements = std::move(elements);
    return r;
}
RedisReply range(int first, int last, const QByteArray& host, int port) {
    return array({integer(first), integer(last), array({string(host), integer(port), string("id")}),
                  array({string("127.0.0.1"), integer(port + 1), string("replica")})});
}
} // namespace

class RedisSlotsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void keySlotIsRedisCrc16() {
        QCOMPARE(keySlot("123456789"), 0x31C3); // the CRC16-XMODEM check value
        QCOMPARE(keySlot("foo"), 12182);        // as CLUSTER KEYSLOT answers
        QCOMPARE(keySlot("bar"), 5061);
        QCOMPARE(keySlot(""), 0);
    }

    void hashTagsPickThePartInBraces() {
        QCOMPARE(keySlot("{user1000}.following"), keySlot("user1000"));
        QCOMPARE(keySlot("{user1000}.followers"), keySlot("{user1000}.following"));
        QCOMPARE(keySlot("foo{}{bar}"), keySlot("foo{}{bar}")); // "{}" is no tag: whole key
        QVERIFY(keySlot("foo{}{bar}") != keySlot("bar"));
        QCOMPARE(keySlot("foo{{bar}}zap"), keySlot("{bar"));
        QCOMPARE(keySlot("foo{bar}{zap}"), keySlot("bar"));
        // What Herald relies on: a stream's history key and its channel share a slot.
        QCOMPARE(keySlot("{herald:public.news}:history"), keySlot("herald:public.news"));
    }

    void clusterSlotsReplyIsRead() {
        const auto parsed = parseClusterSlots(
            array({range(0, 5460, "127.0.0.1", 7000), range(5461, 16383, "", 7001)}), "10.0.0.9");
        QVERIFY(std::holds_alternative<QList<SlotRange>>(parsed));
        const auto ranges = std::get<QList<SlotRange>>(parsed);
        QCOMPARE(ranges.size(), 2);
        QCOMPARE(ranges[0].last, 5460);
        QCOMPARE(ranges[0].port, quint16(7000));
        QCOMPARE(ranges[1].host, QStringLiteral("10.0.0.9")); // empty host: the one asked
    }

    void badClusterSlotsRepliesAreErrors() {
        RedisReply error;
        error.type = RedisReply::Type::Error;
        error.string = "ERR This instance has cluster support disabled";
        QVERIFY(
            std::get<QString>(parseClusterSlots(error, {})).contains(QLatin1String("disabled")));
        QVERIFY(std::holds_alternative<QString>(parseClusterSlots(integer(1), {})));
        QVERIFY(std::holds_alternative<QString>(
            parseClusterSlots(array({range(5, 3, "h", 7000)}), {})));
        QVERIFY(std::holds_alternative<QString>(
            parseClusterSlots(array({range(0, 16384, "h", 7000)}), {})));
        QVERIFY(std::holds_alternative<QString>(
            parseClusterSlots(array({range(0, 10, "h", 70000)}), {})));
        QVERIFY(std::holds_alternative<QString>(
            parseClusterSlots(array({array({integer(0), integer(1)})}), {})));
    }

    void redirectionsAreRead() {
        const auto moved = parseRedirect("MOVED 3999 127.0.0.1:6381");
        QVERIFY(moved && !moved->ask);
        QCOMPARE(moved->slot, 3999);
        QCOMPARE(moved->host, QStringLiteral("127.0.0.1"));
        QCOMPARE(moved->port, quint16(6381));
        const auto ask = parseRedirect("ASK 1 [::1]:7000");
        QVERIFY(ask && ask->ask);
        QCOMPARE(ask->host, QStringLiteral("[::1]"));
        for (const char* bad : {"ERR wrong", "MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1",
                                "MOVED 1 nohost", "MOVED 1 h:0", "ASK 1 h:99999"})
            QVERIFY2(!parseRedirect(bad), bad);
    }

    void clusterUrlsGiveSeeds() {
        QVERIFY(RedisShards::isClusterUrl(QStringLiteral("redis-cluster://a:1")));
        QVERIFY(!RedisShards::isClusterUrl(QStringLiteral("redis://a:1")));
        const auto seeds = RedisShards::parseClusterUrl(
            QStringLiteral("redis-cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7001"));
        QVERIFY(std::holds_alternative<QList<RedisUrl>>(seeds));
        const auto list = std::get<QList<RedisUrl>>(seeds);
        QCOMPARE(list.size(), 2);
        QCOMPARE(list[1].host, QStringLiteral("10.0.0.2"));
        QCOMPARE(list[1].port, quint16(7001));
        QCOMPARE(list[1].password, QByteArray("s3cret")); // every seed has the credentials
        const auto tls = RedisShards::parseClusterUrl(
            QStringLiteral("rediss-cluster://h1:7000,h2:7000?verify=none"));
        QVERIFY(std::get<QList<RedisUrl>>(tls)[1].tls);
        QVERIFY(!std::get<QList<RedisUrl>>(tls)[1].verifyPeer);
        for (const char* bad : {"redis-cluster://", "redis-cluster://a:1,,b:2",
                                "redis-cluster://a:1,b:x", "redis-cluster://a:1/3"})
            QVERIFY2(std::holds_alternative<QString>(RedisShards::parseClusterUrl(bad)), bad);
    }
};

QTEST_GUILESS_MAIN(RedisSlotsTest)
#include "tst_redis_slots.moc"
