#pragma once

#include <QByteArray>
#include <QString>
#include <optional>
#include <vector>

struct redisReader; // hiredis stays out of this header

namespace herald {

// One reply as a plain value.
struct RedisReply {
    enum class Type { Nil, Status, Error, Integer, String, Array };
    Type type = Type::Nil;
    QByteArray string;                // String, Status and Error text
    qint64 integer = 0;               // Integer
    std::vector<RedisReply> elements; // Array
    bool local = false;               // an Error made by this client: not connected, lost, stopped
    bool maybeExecuted = false; // local: the command was sent before the loss; it may have run

    bool isError() const { return type == Type::Error; }
    bool isNil() const { return type == Type::Nil; }
    QString errorText() const { return isError() ? QString::fromUtf8(string) : QString(); }

    static RedisReply localError(const QString& text) {
        RedisReply r;
        r.type = Type::Error;
        r.string = text.toUtf8();
        r.local = true;
        return r;
    }
};

// Turns the bytes a Redis server sends (RESP2) into RedisReply values. The parsing is hiredis's
// (redisReader); the values are built straight into RedisReply trees through its object hooks,
// and every reply is held to a byte budget: what is buffered but unparsed plus what the reply
// under construction already holds. A server that sends an endless or gigantic reply (or a huge
// array header) makes the reader fail instead of taking the process's memory.
class RedisReplyReader {
public:
    // Redis's own largest value (proto-max-bulk-len) is 512 MiB by default.
    static constexpr qint64 kDefaultMaxReplyBytes = 512LL * 1024 * 1024;

    explicit RedisReplyReader(qint64 maxReplyBytes = kDefaultMaxReplyBytes);
    ~RedisReplyReader();
    RedisReplyReader(const RedisReplyReader&) = delete;
    RedisReplyReader& operator=(const RedisReplyReader&) = delete;

    // Appends bytes as they came from the socket, in any split.
    void feed(const char* data, qsizetype size);
    void feed(const QByteArray& bytes) { feed(bytes.constData(), bytes.size()); }
    // The next complete reply, or nullopt when more bytes are needed or the stream is broken
    // (then failed() is true and stays so: the connection must be dropped).
    std::optional<RedisReply> next();

    bool failed() const { return !error_.isEmpty(); }
    QString error() const { return error_; }
    // Bytes fed but not yet turned into replies (for tests and metrics).
    qint64 buffered() const;

    // The budget of the reply under construction; hiredis's object hooks charge it.
    struct Budget {
        qint64 used = 0;
        qint64 max = 0;
        bool exceeded = false;
        bool charge(qint64 bytes) {
            used += bytes;
            exceeded = exceeded || used > max;
            return !exceeded;
        }
    };

private:
    void setError(const QString& text);

    redisReader* reader_ = nullptr;
    Budget budget_;
    QString error_;
};

} // namespace herald
